"""The audit log exported as CSV: the filtered events, oldest first, and nothing a spreadsheet would run."""

import csv
import io

from pipelines_app.models import AuditEvent


def rows_of(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_reviewers_export_the_filtered_log_as_csv(client_for, reviewer, viewer, editor):
    AuditEvent.objects.record(editor, "dataset.uploaded", object_type="dataset", object_id="1", object_repr="cards")
    hostile_text = '=HYPERLINK("http://evil.example","click")'
    AuditEvent.objects.record(editor, "pipeline.created", object_type="pipeline", object_id="2",
                              object_repr=hostile_text, payload={"note": "+1"})  # fmt: skip
    response = client_for(reviewer).get("/audit/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header[:4] == ["id", "created_at", "actor_name", "verb"]
    verbs = [row[3] for row in rows]
    assert verbs.index("dataset.uploaded") < verbs.index("pipeline.created")  # oldest first
    hostile = next(row for row in rows if row[3] == "pipeline.created")
    assert hostile[6].startswith("'=HYPERLINK")  # shown as text, never evaluated
    assert hostile[7] == '{"note": "+1"}'  # JSON, and it does not start a formula

    only = rows_of(client_for(reviewer).get("/audit/?verb=dataset.uploaded&format=csv"))
    assert [row[3] for row in only[1:]] == ["dataset.uploaded"]
    assert client_for(viewer).get("/audit/?format=csv").status_code == 403
    bad = client_for(reviewer).get("/audit/?since=not-a-date&format=csv")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("text/html")
