"""Queue priority with a real burst worker: interactive jobs go before batch jobs enqueued earlier."""

from __future__ import annotations

import pytest

from backend.dispatch import JobClient
from common.exceptions import JobFailedError
from common.jobs import BatchRequest, Exemplar, ImageSource, InteractiveRequest, LabelExemplars, OutputControl
from common.jobs import Thresholds as T
from common.queues import QueueName, connect
from stack.services import ChildProcess, worker_command

pytestmark = pytest.mark.slow

IMAGE = ImageSource("/data/local-files/?d=images/a.png")
THRESHOLDS = T(score_threshold=0.0, nms_threshold=0.5, max_instances=5)


def test_interactive_jobs_go_first_and_a_failing_job_reports_its_reason(redis_url, worker_env, tmp_path):
    connection = connect(redis_url)
    connection.flushall()
    jobs = JobClient(connection, redis_url)
    batch = BatchRequest(project_id=1, task_id=1, image=IMAGE, thresholds=THRESHOLDS, labels=(LabelExemplars(
        label="Object", exemplars=(Exemplar(image=IMAGE, boxes=((60, 80, 170, 190),)),),
        outputs=(OutputControl("box", "image", "rectanglelabels"),)),))
    batch_jobs = [jobs.enqueue(QueueName.BATCH, "worker.jobs.batch_job", batch.to_dict(), job_timeout=60,
                               result_ttl=60) for _ in range(3)]
    interactive = InteractiveRequest(project_id=1, image=IMAGE, reference_boxes=((60, 80, 170, 190),),
                                     thresholds=THRESHOLDS)
    first = jobs.enqueue(QueueName.INTERACTIVE, "worker.jobs.interactive_job", interactive.to_dict(),
                         job_timeout=60, result_ttl=60)
    missing = InteractiveRequest(project_id=1, image=ImageSource("/data/local-files/?d=images/missing.png"),
                                 reference_boxes=((1, 1, 5, 5),), thresholds=THRESHOLDS)
    failing = jobs.enqueue(QueueName.INTERACTIVE, "worker.jobs.interactive_job", missing.to_dict(),
                           job_timeout=60, result_ttl=60)
    worker = ChildProcess("burst", worker_command("--burst"), worker_env, tmp_path / "burst.log").start()
    worker.process.wait(timeout=120)
    assert worker.process.returncode == 0, (tmp_path / "burst.log").read_text()[-2000:]
    for job in [first, *batch_jobs]:
        job.refresh()
        assert job.get_status().value == "finished", (tmp_path / "burst.log").read_text()[-2000:]
    assert first.started_at < min(job.started_at for job in batch_jobs)
    assert first.return_value()["model_version"] == "tiny-untrained"
    assert [job.return_value()["posted"] for job in batch_jobs] == [False] * 3
    with pytest.raises(JobFailedError, match="does not exist"):
        jobs.wait(failing, timeout=5)
    from backend.app import create_app
    from common.settings import Settings

    status = create_app(Settings(redis_url=redis_url), connection).test_client().get(f"/jobs/{failing.id}").json
    assert status["status"] == "failed" and "ImageFetchError" in status["error"]
    assert "does not exist" in status["error"]
