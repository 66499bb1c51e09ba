"""One-shot evaluation (no TensorFlow here): the paper's protocol over any `PredictFn`, the annotator's
recall/precision figure, a colour-histogram baseline, and the adapter over `model.predictor.Predictor`.
"""

from model.evaluation.baseline import ColourHistogramBaseline
from model.evaluation.figures import write_report_figures
from model.evaluation.predictions import PredictFn, Prediction
from model.evaluation.predictor_adapter import predictor_predict_fn
from model.evaluation.protocol import evaluate

__all__ = [
    "ColourHistogramBaseline",
    "PredictFn",
    "Prediction",
    "evaluate",
    "predictor_predict_fn",
    "write_report_figures",
]
