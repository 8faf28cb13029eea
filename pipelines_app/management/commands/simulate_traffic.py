"""Send real scoring requests to a deployed model, spread over the past days, with optional drift, and post
the true labels.

    manage.py simulate_traffic --model credit-card-approval --environment production --rows 5000 \\
        --drift income=1.5 --drift-after 3000 --feedback-rate 0.8 --over 3d

Rows are sampled from the model version's training dataset. The requests are spread over ``--over`` (20 hours back
to now; ``--over 0`` sends them all now) with the rhythm of a working week: busiest early in the afternoon, quiet
at night, weekends at 60%, so that every monitoring chart has a history the first time it is opened. In time
order, after ``--drift-after`` rows each ``--drift`` applies: ``feature=1.5`` multiplies a numeric feature,
``feature=flip:0.1`` moves a tenth of a categorical feature's values to another category.

The server stamps every request with the time it arrives, and no caller can change that. So the requests of the
last ``--live`` (15 minutes) go over HTTP to ``http://127.0.0.1:$PORT`` (8000) unless ``--url`` says otherwise,
and the older ones are scored here, inside Django, through the same route, model and prediction log as the
endpoint, dated when they stand for (``serving.backdated``). True labels for ``--feedback-rate`` of the rows are
then posted to the feedback API. The HTTP calls use a token issued for a dedicated user and revoked at the end.
"""

import http.client
import json
import math
import random
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pipelines_app.ml.training import label_text
from pipelines_app.models import ApiToken, AuditEvent, Deployment, PredictionLog, RollupCursor
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving import backdated, models_cache
from pipelines_app.serving.prediction_log import drain
from pipelines_app.spec.durations import DurationError, parse_duration

SIMULATOR = "traffic-simulator"
FEEDBACK_BATCH = 500
MAX_OVER = timedelta(days=90)  # as far back as a dashboard's window reaches


def parse_drift(text):
    feature, _, change = text.partition("=")
    if not feature or not change:
        raise CommandError(f"--drift {text!r}: write feature=factor (e.g. income=1.5) or feature=flip:0.1")
    if change.startswith("flip:"):
        try:
            share = float(change[5:])
        except ValueError:
            raise CommandError(f"--drift {text!r}: flip takes a share between 0 and 1, e.g. flip:0.1") from None
        if not 0 < share <= 1:
            raise CommandError(f"--drift {text!r}: flip takes a share between 0 and 1")
        return feature, ("flip", share)
    try:
        return feature, ("scale", float(change))
    except ValueError:
        raise CommandError(f"--drift {text!r}: {change!r} is not a number") from None


def parse_span(option, text):
    """A duration option; "0" means none."""
    if text.strip() == "0":
        return timedelta(0)
    try:
        return timedelta(seconds=parse_duration(text))
    except DurationError as exc:
        raise CommandError(f"{option} {text!r}: {exc}") from None


def rate_at(moment) -> float:
    """How busy the model is at a local time, relative to a weekday's early afternoon: applications come in office
    hours, few at night, and at 60% on Saturdays and Sundays."""
    hour = moment.hour + moment.minute / 60
    daily = 0.15 + math.exp(-(((hour - 13.5) / 4.5) ** 2))
    return daily * (0.6 if moment.weekday() >= 5 else 1.0)


def request_times(count, over, now, rng):
    """``count`` times (aware datetimes, oldest first) drawn from the period ``over`` before ``now`` with the
    rhythm of ``rate_at``, minute by minute."""
    if not over:
        return [now] * count
    start = now - over
    minutes = max(1, int(over.total_seconds() // 60))
    weights = [rate_at(timezone.localtime(start + timedelta(minutes=m))) for m in range(minutes)]
    picked = rng.choices(range(minutes), weights=weights, k=count)
    times = (start + timedelta(minutes=m, seconds=rng.random() * 60) for m in picked)
    return sorted(min(t, now) for t in times)


class Command(BaseCommand):
    help = (
        "Send real scoring requests (optionally drifted), spread over the past days, to a deployed model and post "
        "the true labels."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True)
        parser.add_argument("--environment", default="production")
        parser.add_argument("--rows", type=int, default=1000)
        parser.add_argument("--drift", action="append", default=[], help="feature=factor or feature=flip:share")
        parser.add_argument("--drift-after", type=int, default=0, help="rows (in time order) before the drift")
        parser.add_argument("--feedback-rate", type=float, default=0.0, help="share of rows whose label is sent")
        parser.add_argument("--batch", type=int, default=1, help="rows per request")
        parser.add_argument(
            "--over",
            default="20h",
            help="the period the requests spread over, back from now (0: now); within a day by default, so that a "
            "24h summary counts every request sent",
        )
        parser.add_argument("--live", default="15m", help="the most recent part, sent over HTTP (older: backdated)")
        parser.add_argument("--url", default="", help="the site's address (default http://127.0.0.1:$PORT)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, **o):
        if o["rows"] < 1 or o["batch"] < 1:
            raise CommandError("--rows and --batch must be at least 1")
        if not 0 <= o["feedback_rate"] <= 1:
            raise CommandError("--feedback-rate is a share between 0 and 1")
        over, live = parse_span("--over", o["over"]), parse_span("--live", o["live"])
        if over > MAX_OVER:
            raise CommandError("--over reaches back 90 days at most")
        drifts = dict(parse_drift(text) for text in o["drift"])
        deployment = (
            Deployment.objects.select_related("primary_version__dataset_version")
            .filter(model__name=o["model"], environment__name=o["environment"])
            .first()
        )
        if deployment is None or deployment.primary_version is None:
            raise CommandError(f"nothing serves {o['model']} in {o['environment']}: deploy a version first")
        version = deployment.primary_version
        if version.dataset_version is None:
            raise CommandError(f"{version} names no training dataset to sample rows from")
        unknown = [f for f in drifts if f not in version.features]
        if unknown:
            raise CommandError(f"--drift names {', '.join(unknown)}, not features of {version}: {version.features}")
        frame = version.dataset_version.read_frame()
        rng = random.Random(o["seed"])
        kinds = {entry["name"]: entry["kind"] for entry in version.feature_schema}
        categories = {f: sorted(frame[f].dropna().astype(str).unique()) for f in drifts if kinds[f] != "numeric"}
        requests = self._requests(o, version, frame, rng, drifts, categories)
        now = timezone.now()
        times = request_times(len(requests), over, now, rng)
        cut = sum(1 for t in times if t < now - live)
        url = urlsplit(o["url"] or f"http://127.0.0.1:{settings.PORT}")
        token = self._token()
        first_id = PredictionLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        started = time.monotonic()
        try:
            history = self._score_past(o, requests[:cut], times[:cut])
            sent = self._send(url, token, o, requests[cut:])
            elapsed = max(time.monotonic() - started, 1e-6)
            self._wait_until_folded(deployment, first_id, len(requests))
            labels = [
                {"request_id": request_id, "label": label_text(label)}
                for answered in (history, sent)
                for request_id, label in answered["labelled"]
                if rng.random() < o["feedback_rate"]
            ]
            accepted = self._feedback(url, token, labels) if labels else 0
        finally:
            ApiToken.objects.filter(key_hash=token.key_hash).update(revoked_at=timezone.now())
        rows = history["rows"] + sent["rows"]
        refused = history["refused"] + sent["refused"]
        AuditEvent.objects.record(
            "system",
            "traffic.simulated",
            deployment,
            {
                "rows": rows,
                "refused": refused,
                "drift": o["drift"],
                "feedback": accepted,
                "over": o["over"],
                "backdated": history["rows"],
            },  # fmt: skip
        )
        spread = f"{history['rows']} dated over the past {o['over']}, {sent['rows']} over HTTP" if over else "over HTTP"
        self.stdout.write(
            f"sent {rows} rows in {elapsed:.1f} s ({rows / elapsed:.0f} rows/s): {spread}; {refused} refused; "
            f"{accepted} labels accepted"
        )

    def _requests(self, o, version, frame, rng, drifts, categories):
        """The requests in time order, each a list of (row, true label or None); drifted after --drift-after."""
        features, target = version.features, version.target
        records = frame[features].astype(object).where(frame[features].notna(), None).to_dict("records")
        truth = [None if label != label else label for label in frame[target].tolist()]
        requests, made = [], 0
        while made < o["rows"]:
            request = []
            for _ in range(min(o["batch"], o["rows"] - made)):
                index = rng.randrange(len(records))
                row = dict(records[index])
                if made >= o["drift_after"]:
                    for feature, (how, amount) in drifts.items():
                        row[feature] = self._drifted(row[feature], how, amount, categories.get(feature), rng)
                row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                request.append((row, truth[index]))
                made += 1
            requests.append(request)
        return requests

    def _token(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=SIMULATOR, defaults={"is_active": True})
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(Group.objects.get_or_create(name="editors")[0])  # feedback needs an editor
        token, raw = ApiToken.objects.issue(user, name="simulate_traffic")
        token.raw = raw
        return token

    def _score_past(self, o, requests, times):
        """The older requests, scored and logged here with their own dates (``serving.backdated``)."""
        answered = {"rows": 0, "refused": 0, "labelled": []}
        models_cache.forget()  # what serves now, not what this process may have read earlier
        for number, (request, at) in enumerate(zip(requests, times, strict=True), start=1):
            try:
                status, ids = backdated.score_at(
                    o["model"], o["environment"], [row for row, _ in request], at.timestamp()
                )
            except (backdated.NothingServes, models_cache.ModelUnavailable) as exc:
                raise CommandError(str(exc)) from exc
            self._count(answered, request, status, ids)
            if number % 1000 == 0:
                self.stderr.write(f"  {answered['rows']} rows dated back to {times[0]:%Y-%m-%d %H:%M}")
        return answered

    @staticmethod
    def _count(answered, request, status, ids):
        answered["rows"] += len(request)
        if status != 200:
            answered["refused"] += len(request)
            return
        answered["labelled"] += [(i, label) for i, (_, label) in zip(ids, request, strict=True) if label is not None]

    def _send(self, url, token, o, requests):
        """The recent requests, over HTTP: the server dates them."""
        answered = {"rows": 0, "refused": 0, "labelled": []}
        if not requests:
            return answered
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        path = f"/serve/{o['model']}/{o['environment']}/invocations"
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token.raw}"}
        for request in requests:
            body = {"dataframe_records": [row for row, _ in request]}
            try:
                # Bytes, so that http.client sends the body with the headers in one write (a str body goes
                # separately and can wait on a delayed ACK).
                connection.request("POST", path, json.dumps(body).encode(), headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise CommandError(f"{url.geturl()}{path} did not answer: {exc}") from exc
            if response.status == 401 or response.status == 403:
                raise CommandError(f"the server refused the token ({response.status}): {answer[:200]!r}")
            ids = json.loads(answer)["request_ids"] if response.status == 200 else []
            before = answered["rows"]
            self._count(answered, request, response.status, ids)
            if answered["rows"] // 1000 > before // 1000:
                self.stderr.write(f"  {answered['rows']} / {len(requests)} rows sent")
        connection.close()
        return answered

    def _wait_until_folded(self, deployment, first_id, requests, timeout=120):
        """Return once every request sent is logged and in the rollups, so that what follows (a dashboard, the
        summary API) sees all of it. The logging and rollup jobs are idempotent: running them here is safe."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            drain()
            while fold():
                pass
            logged = PredictionLog.objects.filter(deployment=deployment, id__gt=first_id)
            newest = logged.order_by("-id").values_list("id", flat=True).first() or 0
            cursor = RollupCursor.objects.filter(name="predictions").values_list("last_id", flat=True).first() or 0
            if logged.count() >= requests and cursor >= newest:
                return
            time.sleep(0.5)
        self.stderr.write(f"not every request reached the rollups within {timeout} s; the dashboards catch up later")

    @staticmethod
    def _drifted(value, how, amount, categories, rng):
        if value is None:
            return None
        if how == "scale":
            return value * amount if isinstance(value, int | float) else value
        if categories and len(categories) > 1 and rng.random() < amount:
            return rng.choice([c for c in categories if c != str(value)])
        return value

    def _feedback(self, url, token, labels):
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token.raw}"}
        accepted = 0
        for start in range(0, len(labels), FEEDBACK_BATCH):
            body = json.dumps(labels[start : start + FEEDBACK_BATCH]).encode()
            connection.request("POST", "/api/v1/feedback/", body, headers)
            response = connection.getresponse()
            body = response.read()
            if response.status == 200:
                accepted += json.loads(body)["accepted"]
            else:
                self.stderr.write(f"feedback refused ({response.status}): {body[:200]!r}")
        connection.close()
        return accepted
