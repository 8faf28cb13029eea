// Monitoring dashboard: one JSON request (rollups only) draws every chart; refreshes every 30 s when asked.
(function () {
  // Deployments and rollbacks are dotted vertical lines on every time axis.
  function timeChart(id, title, series, keys, shapes, yaxis, granularity) {
    var traces = keys.map(function (k, i) {
      return {x: series.map(function (p) { return p.t; }), y: series.map(function (p) { return p[k]; }),
              mode: "lines+markers", name: k, line: {color: charts.group(i)}, marker: {size: 5}};
    });
    var points = series.filter(function (p) { return keys.some(function (k) { return p[k] !== null && p[k] !== undefined; }); });
    var why = points.length ? "the window's traffic falls into one " + granularity + "; a line needs two."
                            : "no traffic in this window.";
    charts.drawLine(id, traces, charts.layout(title, {shapes: shapes, yaxis: yaxis, showlegend: keys.length > 1,
                    xaxis: charts.timeAxis()}), points.length, why);
  }
  function chartBoxes(holderId, prefix, names, label) {
    var holder = document.getElementById(holderId);
    return names.map(function (name) {
      var id = prefix + name.replace(/[^A-Za-z0-9_-]/g, "_");
      if (!document.getElementById(id)) {
        var div = document.createElement("div");
        div.id = id; div.className = "chart"; div.setAttribute("role", "img");
        div.setAttribute("aria-label", label(name));
        holder.appendChild(div);
      }
      return id;
    });
  }
  function share(counts) {
    var total = counts.reduce(function (a, b) { return a + b; }, 0) || 1;
    return counts.map(function (c) { return c / total; });
  }
  function text(value, digits) { return value === null || value === undefined ? "—" : Number(value).toFixed(digits); }
  var el = asText.el, fill = asText.fill, plotlyText = asText.plotly;
  function fact(label, value) {
    return el("div", {}, el("span", {}, label), el("strong", {}, value));
  }
  function level(name) { return el("span", {class: "level level-" + name}, name); }
  function draw(data) {
    var levels = Object.keys(data.drift).filter(function (k) { return typeof data.drift[k] === "object"; });
    fill("headline", [
      fact("Version", data.version === null ? "nothing serves" : "v" + data.version), fact("Requests", data.requests), fact("Rows", data.rows),
      fact("Errors", data.error_rate === null ? "—" : (100 * data.error_rate).toFixed(2) + "%"),
      fact("Latency p50 / p95 / p99", text(data.latency_ms.p50, 2) + " / " + text(data.latency_ms.p95, 2) + " / " + text(data.latency_ms.p99, 2) + " ms"),
      fact("Positive rate", data.positive_rate === null ? "—" : (100 * data.positive_rate).toFixed(1) + "%"),
      fact("Features drifted", (100 * data.share_drifted).toFixed(0) + "%" + (data.dataset_drift ? " (dataset drift)" : ""))]);
    var versions = data.versions || [];
    document.getElementById("side-by-side").hidden = versions.length < 2;
    fill("version-rows", versions.map(function (v) {
      var pct = function (x) { return x === null ? "—" : (100 * x).toFixed(2) + "%"; };
      return el("tr", {"data-role": v.role}, el("td", {}, "v" + v.version), el("td", {}, v.role), el("td", {}, v.requests),
        el("td", {}, v.rows), el("td", {}, pct(v.error_rate)), el("td", {}, pct(v.positive_rate)),
        el("td", {}, text(v.latency_p95, 2) + " ms"));
    }));
    var shapes = charts.eventLines(data.events), g = data.granularity;
    timeChart("chart-volume", "Requests per " + g, data.series, ["requests"], shapes,
              charts.countAxis("requests", data.series.map(function (p) { return p.requests; })), g);
    timeChart("chart-latency", "Latency", data.series, ["p50", "p95", "p99"], shapes, charts.fromZeroAxis("ms"), g);
    timeChart("chart-errors", "Error rate", data.series, ["error_rate"], shapes, charts.rateAxis("errors"), g);
    timeChart("chart-positive", "Positive rate", data.series, ["positive_rate"], shapes, charts.rateAxis("positive"), g);
    var bins = data.scores.map(function (_, i) { return (i + 0.5) / data.scores.length; });
    var scoreTraces = [{type: "bar", x: bins, y: share(data.scores), name: "now", marker: {color: charts.colour("now")}}];
    if (data.reference_scores) scoreTraces.unshift({type: "bar", x: bins, y: share(data.reference_scores), name: "test split",
                                                    marker: {color: charts.colour("reference")}});
    charts.draw("chart-scores", scoreTraces, charts.layout("Score distribution",
                {xaxis: {title: {text: "score"}, range: [0, 1], automargin: true}, yaxis: charts.rateAxis("share of rows"),
                 barmode: "group", bargap: 0.1}));
    var outcomes = [["Predictions (score)", data.prediction_drift], ["Labels (feedback)", data.label_drift]]
      .filter(function (pair) { return pair[1]; }).map(function (pair) {
        var d = pair[1];
        var detail = d.method === "none" ? d.reason : d.method + " " + text(d.score, 4) + ", PSI " + text(d.psi, 4);
        return el("tr", {"data-level": d.level}, el("td", {}, pair[0]), el("td", {}, detail), el("td", {}, d.rows),
                  el("td", {}, level(d.level)));
      });
    fill("outcome-rows", outcomes);
    charts.draw("chart-drift", [{type: "bar", x: plotlyText(levels), y: levels.map(function (k) { return data.drift[k].psi; }),
      marker: {color: levels.map(function (k) { return charts.colour(data.drift[k].level); })},
      name: "PSI", hovertemplate: "%{x}: PSI %{y:.3f}<extra></extra>"}],
      charts.layout("Drift (PSI) by feature", {showlegend: false, yaxis: charts.fromZeroAxis("PSI"),
                    xaxis: {automargin: true}, shapes: charts.thresholdLines(data.thresholds.psi)}));
    var features = document.getElementById("dashboard").dataset.features;
    var driftRows = levels.map(function (k) {
      var d = data.drift[k];
      var link = el("a", {href: features + encodeURIComponent(k) + "/"}, k);
      return el("tr", {"data-feature": k, "data-level": d.level}, el("td", {}, link), el("td", {}, d.method),
                el("td", {}, text(d.score, 4)), el("td", {}, text(d.psi, 4)), el("td", {}, d.rows), el("td", {}, level(d.level)));
    });
    fill("drift-rows", driftRows);
    // Every chart's box is placed before any is drawn, so that each is drawn at its final width.
    var featureIds = chartBoxes("feature-charts", "feature-", Object.keys(data.features), function (name) {
      return name + ": current against training";
    });
    Object.keys(data.features).forEach(function (name, i) {
      var f = data.features[name];
      charts.draw(featureIds[i], [
        {type: "bar", x: plotlyText(f.labels), y: share(f.reference), name: "training", marker: {color: charts.colour("reference")}},
        {type: "bar", x: plotlyText(f.labels), y: share(f.current), name: "current", marker: {color: charts.colour("current")}}],
        charts.layout(plotlyText(name), {barmode: "group", yaxis: charts.rateAxis("share of rows"),
                                         xaxis: {automargin: true}}));
    });
    document.getElementById("fairness-empty").hidden = data.fairness.length > 0;
    var fairIds = chartBoxes("fairness-charts", "fairness-", data.fairness.map(function (e) { return e.feature; }),
                             function (name) { return "Selection rate by " + name + " over time"; });
    data.fairness.forEach(function (entry, i) {
      var series = data.fairness_series[entry.feature] || {groups: [], points: []};
      var traces = series.groups.map(function (group, i) {
        return {x: series.points.map(function (p) { return p.t; }), y: series.points.map(function (p) { return p.rates[i]; }),
                mode: "lines+markers", name: plotlyText(group), connectgaps: false, line: {color: charts.group(i)}};
      }).filter(function (trace) { return trace.y.some(function (v) { return v !== null; }); });
      var gap = entry.demographic_parity_difference === null ? "—" : entry.demographic_parity_difference.toFixed(3);
      var tested = entry.at_evaluation === null || entry.at_evaluation === undefined ? "—" : entry.at_evaluation.toFixed(3);
      var points = series.points.filter(function (p) { return p.rates.some(function (r) { return r !== null; }); }).length;
      charts.drawLine(fairIds[i], traces, charts.layout("Selection rate by " + plotlyText(entry.feature) +
                   "<br><sub>gap between groups now " + gap + ", on the test split " + tested + "</sub>",
                   {shapes: shapes, margin: {t: 60}, yaxis: charts.rateAxis("selection rate"),
                    xaxis: charts.timeAxis()}),
                   points, "selection by " + entry.feature + " is known for one " + data.granularity +
                   " only (gap between groups now " + gap + ", on the test split " + tested + ").");
    });
    drawPerformance(data.performance_series || [], shapes, data.granularity);
    var p = data.performance.realised, e = data.performance.estimated;
    var estimated = e ? [fact("Estimated accuracy (no labels needed)", text(e.accuracy, 3)),
                         fact("Estimated ROC AUC", text(e.roc_auc, 3))] : [];
    var realised = p.labelled ? [
      fact("Labelled rows", p.labelled), fact("Label coverage", (100 * (p.label_coverage || 0)).toFixed(1) + "%"),
      fact("Accuracy", text(p.accuracy, 3)), fact("Precision", text(p.precision, 3)),
      fact("Recall", text(p.recall, 3)), fact("ROC AUC", text(p.roc_auc, 3))] :
      [el("p", {class: "muted"}, "No labels yet: POST them to /api/v1/feedback/ by request id.")];
    fill("performance", estimated.concat(realised));
  }
  function drawPerformance(series, shapes, granularity) {
    // Realised metrics per bucket (labels due only), the estimate from scores beside them, coverage as bars.
    var x = series.map(function (p) { return p.t; });
    var pick = function (kind, key) {
      return series.map(function (p) { return p[kind] && p[kind][key] !== undefined ? p[kind][key] : null; });
    };
    var traces = [["accuracy", "accuracy"], ["roc_auc", "ROC AUC"], ["precision", "precision"], ["recall", "recall"]]
      .map(function (m, i) {
        return {x: x, y: pick("realised", m[0]), mode: "lines+markers", name: m[1], line: {color: charts.group(i)}};
      });
    traces.push({x: x, y: pick("estimated", "accuracy"), mode: "lines", name: "accuracy, estimated",
                 line: {dash: "dash", color: charts.group(0)}});
    traces.push({x: x, y: pick("estimated", "roc_auc"), mode: "lines", name: "ROC AUC, estimated",
                 line: {dash: "dash", color: charts.group(1)}});
    traces.push({x: x, y: series.map(function (p) { return p.label_coverage === undefined ? null : p.label_coverage; }),
                 type: "bar", name: "label coverage", yaxis: "y2", opacity: 0.25, marker: {color: charts.colour("reference")}});
    charts.drawLine("chart-performance", traces, charts.layout("Performance over time (labels due only)", {
      height: 360, shapes: shapes, yaxis: charts.unitAxis("metric"), xaxis: charts.timeAxis(),
      yaxis2: {title: {text: "label coverage"}, overlaying: "y", side: "right", range: [0, 1.02], tickformat: ".0%",
               showgrid: false, automargin: true}}),
      x.length, x.length ? "labels and estimates cover one " + granularity + " so far; a line needs two." :
                           "no traffic in this window.");
  }
  function load() {
    var node = document.getElementById("dashboard");
    fetch(node.dataset.url, {credentials: "same-origin"}).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      var error = document.getElementById("dashboard-error");
      if (!res.ok) { error.hidden = false; error.textContent = res.body.error || "The data could not be loaded."; return; }
      error.hidden = true;
      draw(res.body);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("dashboard") || typeof Plotly === "undefined" || typeof charts === "undefined") return;
    load();
    setInterval(function () { if (document.getElementById("auto-refresh").checked) load(); }, 30000);
  });
})();
