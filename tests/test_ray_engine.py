"""``--engine ray`` gives the same output as the local engine (on a local 2-CPU Ray instance)."""
import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from collectguard.inference.classifier import PROB_COLUMNS
from collectguard.inference.score import ScoreOptions, score_file
from tests.helpers import ROWS, read_output, write_input

ray = pytest.importorskip("ray")

# Ray Data's own DataContext warns about its deprecated settings when it copies itself
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

LONG = "您好这里是客服中心请您按时还款" * 40 + "不还钱我们就去你家门口堵你，把你欠钱的事告诉你全家"
CSV_ROWS = [*ROWS,  # includes an empty text (turn 4) and a customer row (turn 2)
            {"call_id": "C3", "turn": "1", "speaker": "坐席", "text": LONG},
            {"call_id": "C3", "turn": "2", "speaker": "客户", "text": ""},
            {"call_id": "C3", "turn": "3", "speaker": "坐席", "text": "我们会上门找你，你跑不掉的"}]
JSONL_LINES = ['{"call_id": "C4", "turn": 1, "speaker": "催收员", "text": "今天不还就起诉你"}',
               '{not json',
               '{"call_id": "C4", "turn": 2, "speaker": "坐席", "text": ""}',
               '',
               '{"call_id": "C4", "speaker": "坐席", "text": "你这种人活着有什么用"}',
               '[1, 2]']


@pytest.fixture(scope="module")
def ray_local():
    """A local 2-CPU Ray instance for this module; after it, none of its processes may be left."""
    session_dir = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False).address_info["session_dir"]
    try:
        yield
    finally:
        pids = _session_pids(session_dir)
        ray.shutdown()
        deadline = time.time() + 20  # workers exit shortly after the raylet
        while (alive := [pid for pid in pids if _alive(pid)]) and time.time() < deadline:
            time.sleep(0.2)
        assert not alive, f"Ray processes still running after shutdown: {alive}"


def _session_pids(session_dir: str) -> set[int]:
    """The Ray instance's processes: those whose command line names its session folder (raylet, GCS,
    agents) and the workers, known from the pids in their log file names."""
    if not Path("/proc").is_dir():
        return set()
    pids = {int(m[1]) for log in Path(session_dir, "logs").glob("*worker*")
            if (m := re.search(r"[-_](\d+)\.(?:out|err|log)$", log.name))}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if session_dir.encode() in (proc / "cmdline").read_bytes():
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids - {os.getpid()}


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # zombie: exited
    except (OSError, IndexError):
        return False


@pytest.fixture
def inputs(tmp_path):
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    return [write_input(tmp_path / "a.csv", CSV_ROWS, encoding="gb18030"), jsonl,
            write_input(tmp_path / "c.parquet", ROWS[:3])]


def test_bad_requests_fail_before_ray_starts(baseline_model, inputs, tmp_path):
    with pytest.raises(TypeError, match="batch_sise"):
        score_file(baseline_model[0], inputs, tmp_path / "o.parquet", engine="ray", batch_sise=8)
    with pytest.raises(ValueError, match="no text column"):
        score_file(baseline_model[0], inputs, tmp_path / "o.parquet", options=ScoreOptions(text_col="utterance"),
                   engine="ray")
    assert not ray.is_initialized()  # runs before the module's Ray fixture: nothing was started
    assert not (tmp_path / "o.parquet.parts").exists()


def test_ray_output_equals_the_local_engine(baseline_model, ray_local, inputs, tmp_path):
    # 6 chunks over both actors; 3 rows so that the first chunk has a label (see tables.assemble)
    options = ScoreOptions(turn_col="turn", chunk_rows=3)
    local_out, ray_out = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    local_calls, ray_calls = tmp_path / "local_calls.jsonl", tmp_path / "ray_calls.jsonl"
    expected = score_file(baseline_model[0], inputs, local_out, local_calls, options, progress=False)
    result = score_file(baseline_model[0], inputs, ray_out, ray_calls, options, engine="ray",
                        ray_options={"concurrency": 2}, progress=False)

    local, scored = read_output(local_out), read_output(ray_out)
    pd.testing.assert_frame_equal(scored, local, check_exact=False, atol=1e-6, rtol=0)
    assert scored["text"].tolist()[:len(CSV_ROWS)] == [r["text"] for r in CSV_ROWS]
    assert scored["status"].tolist() == [
        "ok", "not_scored:speaker", "ok", "empty_text", "ok", "ok", "ok", "not_scored:speaker", "ok",
        "ok", "not_scored:malformed_row", "empty_text", "ok", "not_scored:malformed_row",
        "ok", "not_scored:speaker", "ok"]
    assert scored.loc[6, "text"] == LONG and not scored.loc[6, PROB_COLUMNS].isna().any()
    assert (result.rows, result.status_counts, result.problems) == \
        (expected.rows, expected.status_counts, expected.problems)
    assert [json.loads(line) for line in ray_calls.read_text(encoding="utf-8").splitlines()] == \
        [json.loads(line) for line in local_calls.read_text(encoding="utf-8").splitlines()]
    leftovers = {p.name for p in tmp_path.iterdir()} - {p.name for p in inputs}
    assert leftovers == {local_out.name, ray_out.name, local_calls.name, ray_calls.name}  # no parts folders


def test_cli_engine_ray_writes_what_the_local_engine_writes(baseline_model, ray_local, inputs, tmp_path, capsys):
    from collectguard.cli import main

    local_out, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    score_file(baseline_model[0], inputs, local_out, options=ScoreOptions(chunk_rows=3), progress=False)
    argv = ["score", "--model", str(baseline_model[0]), *map(str, inputs), "--out", str(ray_out),
            "--chunk-rows", "3", "--quiet", "--engine", "ray"]  # default concurrency: the 2 CPUs
    assert main(argv) == 0
    assert f"wrote {ray_out}: 17 rows" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_output(ray_out), read_output(local_out), check_exact=False, atol=1e-6, rtol=0)


def test_a_local_run_interrupted_resumes_on_ray(baseline_model, ray_local, inputs, tmp_path, monkeypatch):
    import collectguard.inference.score as score

    options = ScoreOptions(turn_col="turn", chunk_rows=3)
    reference = tmp_path / "reference.parquet"
    score_file(baseline_model[0], inputs, reference, options=options, progress=False)
    real, calls = score.score_frame, []

    def interrupted_after_two_chunks(*args):
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(*args)

    out = tmp_path / "out.parquet"
    monkeypatch.setattr(score, "score_frame", interrupted_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        score_file(baseline_model[0], inputs, out, options=options, progress=False)
    monkeypatch.setattr(score, "score_frame", real)
    assert len(list((tmp_path / "out.parquet.parts").glob("*.meta.json"))) == 2 and not out.exists()
    result = score_file(baseline_model[0], inputs, out, options=options, resume=True, engine="ray",
                        ray_options={"concurrency": 2}, progress=False)
    assert result.resumed_chunks == 2
    pd.testing.assert_frame_equal(read_output(out), read_output(reference), check_exact=False, atol=1e-6, rtol=0)
