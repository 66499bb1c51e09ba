"""Datasets and one-shot episodes (no TensorFlow here).

Readers turn COCO JSON, YOLO-seg folders and Label Studio exports into one `Dataset` of `AnnotatedImage`s;
`EpisodeSampler` draws the paper's one-shot episodes from it; `ClassSplit` / `paper_split` say which classes are
held out. Boxes are `x1, y1, x2, y2` pixels everywhere; masks `(H, W)` bool at full resolution.
"""

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.data.augment import Augmentation
from model.data.episodes import Episode, EpisodeSampler, sampler_from_label_studio
from model.data.loading import DatasetFormat, load_dataset
from model.data.splits import COCO_CLASSES, ClassSelection, ClassSplit, paper_split

__all__ = [
    "COCO_CLASSES",
    "AnnotatedImage",
    "Augmentation",
    "ClassSelection",
    "ClassSplit",
    "Dataset",
    "DatasetFormat",
    "Episode",
    "EpisodeSampler",
    "InstanceAnnotation",
    "load_dataset",
    "paper_split",
    "sampler_from_label_studio",
]
