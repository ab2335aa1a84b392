"""The Label Studio round trip against a real server on loopback: export-tasks, a project made through the
SDK, annotations submitted by two annotators through the API, Label Studio's own JSON export, and
import-annotations back into labelled rows.

The server runs from its own virtual environment (label-studio pins older numpy and pytz than this
project): ``.ci/run`` installs it into ``.venv-labelstudio`` and points ``COLLECTGUARD_LABEL_STUDIO`` at its
``label-studio`` executable. Without that variable (and with no ``label-studio`` on PATH) the test is
skipped.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from collectguard.cli import main
from collectguard.inference.records import load_labelled

from .conftest import FIXTURES

LABEL_STUDIO = os.environ.get("COLLECTGUARD_LABEL_STUDIO") or shutil.which("label-studio")
pytestmark = pytest.mark.skipif(not LABEL_STUDIO, reason="no Label Studio server: set COLLECTGUARD_LABEL_STUDIO "
                                "to a label-studio executable (.ci/run installs one)")
STARTUP_SECONDS = 400


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    """A fresh Label Studio on 127.0.0.1 with an admin whose API token is known: (url, token)."""
    home = tmp_path_factory.mktemp("label-studio")
    port, token = free_port(), secrets.token_hex(20)
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(home / "data"), "HOME": str(home),
           "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false", "SENTRY_DSN": ""}
    log = (home / "server.log").open("w")
    server = subprocess.Popen([LABEL_STUDIO, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port",
                               str(port), "--data-dir", str(home / "data"), "--username", "admin@example.com",
                               "--password", secrets.token_hex(8), "--user-token", token, "--enable-legacy-api-token"],
                              cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Label Studio did not start:\n{(home / 'server.log').read_text()[-3000:]}")
            time.sleep(2)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_round_trip_through_a_real_label_studio(label_studio, baseline_model, tmp_path, capsys):
    from label_studio_sdk import LabelStudio

    from collectguard.training.labelstudio import choices_result

    rows = load_labelled(FIXTURES / "mini_dev.jsonl")[:6]
    selected = tmp_path / "selected.jsonl"
    selected.write_text("".join(json.dumps({"id": r.id, "text": r.text, "speaker": r.speaker, "style": r.style,
                                            "script": r.script}, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
    assert main(["export-tasks", str(selected), "--out", str(tmp_path / "tasks"), "--codebook-url",
                 "https://example.org/collectguard/data/CODEBOOK.md", "--pre-annotate", str(baseline_model[0])]) == 0
    tasks = json.loads((tmp_path / "tasks" / "tasks.json").read_text(encoding="utf-8"))

    url, token = label_studio
    client = LabelStudio(base_url=url, api_key=token)
    project = client.projects.create(title="collectguard round trip",
                                     label_config=(tmp_path / "tasks" / "label_config.xml").read_text(encoding="utf-8"))
    client.projects.import_tasks(id=project.id, request=tasks)
    task_of = {t.data["row_id"]: t for t in client.tasks.list(project=project.id)}
    assert set(task_of) == {r.id for r in rows}
    assert all(t.total_predictions == 1 for t in task_of.values())  # the pre-annotations arrived
    admin = client.users.whoami().id
    second = client.users.create(username="annotator2", email="annotator2@example.com",
                                 password=secrets.token_hex(8)).id
    disputed, skipped = rows[0], rows[1]
    for row in rows:
        client.annotations.create(id=task_of[row.id].id, result=choices_result(row.labels), completed_by=admin)
        other = [] if row is disputed and row.labels else (["insult"] if row is disputed else row.labels)
        client.annotations.create(id=task_of[row.id].id, result=choices_result(other), completed_by=second,
                                  was_cancelled=row is skipped)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(client.projects.exports.as_json(project.id), ensure_ascii=False), encoding="utf-8")

    out = tmp_path / "imported.jsonl"
    assert main(["import-annotations", str(export), "--out", str(out)]) == 2  # the skip is refused
    error = capsys.readouterr().err
    assert f"{export}: 1 problem(s)" in error
    assert f"task {task_of[skipped.id].id} (row {skipped.id}), annotation" in error
    assert f"annotator {second}: skipped" in error
    assert not out.exists()

    assert main(["import-annotations", str(export), "--out", str(out), "--ignore-skipped",
                 "--against", str(FIXTURES / "mini_train.jsonl")]) == 0
    imported = {r.id: r for r in load_labelled(out)}
    assert set(imported) == {r.id for r in rows} - {disputed.id}  # agreed rows only
    assert all(imported[r.id].labels == r.labels and imported[r.id].text == r.text for r in rows[1:])
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_id = {r["id"]: r for r in records}
    assert by_id[skipped.id]["annotators"] == [str(admin)]  # the skip left out, the other vote kept
    assert by_id[rows[2].id]["annotators"] == sorted([str(admin), str(second)])
    listed = [json.loads(line) for line in (tmp_path / "imported.disagreements.jsonl").read_text().splitlines()]
    assert listed == [{"id": disputed.id, "task": task_of[disputed.id].id, "text": disputed.text,
                       "votes": {str(admin): list(disputed.labels),
                                 str(second): [] if disputed.labels else ["insult"]}}]
    report = json.loads((tmp_path / "imported.agreement.json").read_text())
    assert report["agreement"]["tasks_with_2_or_more"] == 5 and report["agreement"]["all_agree"] == 4
    assert report["agreement"]["pairs"][0]["n"] == 5
