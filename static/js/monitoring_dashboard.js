// Monitoring dashboard: one JSON request (rollups only) draws every chart; refreshes every 30 s when asked.
(function () {
  var config = {displayModeBar: false, responsive: true};
  function layout(title, y) {
    return {title: {text: title, font: {size: 14}}, height: 280, margin: {l: 50, r: 10, t: 40, b: 40},
            yaxis: {title: {text: y || ""}}, paper_bgcolor: "rgba(0,0,0,0)", legend: {orientation: "h", y: -0.3}};
  }
  function markers(events) {
    // Deployments and rollbacks as vertical lines on every time axis.
    return events.map(function (e) {
      return {type: "line", xref: "x", yref: "paper", x0: e.t, x1: e.t, y0: 0, y1: 1,
              line: {dash: "dot", width: 1, color: e.action === "rollback" ? "#c0392b" : "#888"}};
    });
  }
  function timeChart(id, title, series, keys, shapes, y) {
    var traces = keys.map(function (k) {
      return {x: series.map(function (p) { return p.t; }), y: series.map(function (p) { return p[k]; }),
              mode: "lines+markers", name: k};
    });
    Plotly.react(id, traces, Object.assign(layout(title, y), {shapes: shapes}), config);
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
    var shapes = markers(data.events);
    timeChart("chart-volume", "Requests per " + data.granularity, data.series, ["requests"], shapes);
    timeChart("chart-latency", "Latency (ms)", data.series, ["p50", "p95", "p99"], shapes, "ms");
    timeChart("chart-errors", "Error rate", data.series, ["error_rate"], shapes);
    timeChart("chart-positive", "Positive rate", data.series, ["positive_rate"], shapes);
    var bins = data.scores.map(function (_, i) { return (i + 0.5) / data.scores.length; });
    var scoreTraces = [{type: "bar", x: bins, y: share(data.scores), name: "now"}];
    if (data.reference_scores) scoreTraces.unshift({type: "bar", x: bins, y: share(data.reference_scores), name: "test split"});
    Plotly.react("chart-scores", scoreTraces, Object.assign(layout("Score distribution: now against the test split", "share of rows"),
                 {xaxis: {title: {text: "score"}}, barmode: "group"}), config);
    var outcomes = [["Predictions (score)", data.prediction_drift], ["Labels (feedback)", data.label_drift]]
      .filter(function (pair) { return pair[1]; }).map(function (pair) {
        var d = pair[1];
        var detail = d.method === "none" ? d.reason : d.method + " " + text(d.score, 4) + ", PSI " + text(d.psi, 4);
        return el("tr", {"data-level": d.level}, el("td", {}, pair[0]), el("td", {}, detail), el("td", {}, d.rows),
                  el("td", {}, level(d.level)));
      });
    fill("outcome-rows", outcomes);
    Plotly.react("chart-drift", [{type: "bar", x: plotlyText(levels), y: levels.map(function (k) { return data.drift[k].psi; }),
      marker: {color: levels.map(function (k) { return {ok: "#1f8a4c", warn: "#b7791f", alert: "#c0392b"}[data.drift[k].level]; })},
      name: "PSI"}], Object.assign(layout("Drift (PSI) by feature", "PSI"), {shapes: [
        {type: "line", xref: "paper", x0: 0, x1: 1, y0: data.thresholds.psi[0], y1: data.thresholds.psi[0], line: {dash: "dash", color: "#b7791f"}},
        {type: "line", xref: "paper", x0: 0, x1: 1, y0: data.thresholds.psi[1], y1: data.thresholds.psi[1], line: {dash: "dash", color: "#c0392b"}}]}), config);
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
      Plotly.react(featureIds[i], [{type: "bar", x: plotlyText(f.labels), y: share(f.reference), name: "training"},
                        {type: "bar", x: plotlyText(f.labels), y: share(f.current), name: "current"}],
                   Object.assign(layout(plotlyText(name), "share"), {barmode: "group"}), config);
    });
    document.getElementById("fairness-empty").hidden = data.fairness.length > 0;
    var fairIds = chartBoxes("fairness-charts", "fairness-", data.fairness.map(function (e) { return e.feature; }),
                             function (name) { return "Selection rate by " + name + " over time"; });
    data.fairness.forEach(function (entry, i) {
      var series = data.fairness_series[entry.feature] || {groups: [], points: []};
      var traces = series.groups.map(function (group, i) {
        return {x: series.points.map(function (p) { return p.t; }), y: series.points.map(function (p) { return p.rates[i]; }),
                mode: "lines+markers", name: plotlyText(group), connectgaps: false};
      }).filter(function (trace) { return trace.y.some(function (v) { return v !== null; }); });
      var gap = entry.demographic_parity_difference === null ? "—" : entry.demographic_parity_difference.toFixed(3);
      var tested = entry.at_evaluation === null || entry.at_evaluation === undefined ? "—" : entry.at_evaluation.toFixed(3);
      Plotly.react(fairIds[i], traces, Object.assign(layout("Selection rate by " + plotlyText(entry.feature) +
                   "<br><sub>gap between groups now " + gap + ", on the test split " + tested + "</sub>", "selection rate"),
                   {shapes: shapes, margin: {l: 50, r: 10, t: 60, b: 40}}), config);
    });
    drawPerformance(data.performance_series || [], shapes);
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
  function drawPerformance(series, shapes) {
    // Realised metrics per bucket (labels due only), the estimate from scores beside them, coverage as bars.
    var x = series.map(function (p) { return p.t; });
    var pick = function (kind, key) {
      return series.map(function (p) { return p[kind] && p[kind][key] !== undefined ? p[kind][key] : null; });
    };
    var traces = [["accuracy", "accuracy"], ["roc_auc", "ROC AUC"], ["precision", "precision"], ["recall", "recall"]]
      .map(function (m) { return {x: x, y: pick("realised", m[0]), mode: "lines+markers", name: m[1]}; });
    traces.push({x: x, y: pick("estimated", "accuracy"), mode: "lines", name: "accuracy, estimated", line: {dash: "dash"}});
    traces.push({x: x, y: pick("estimated", "roc_auc"), mode: "lines", name: "ROC AUC, estimated", line: {dash: "dash"}});
    traces.push({x: x, y: series.map(function (p) { return p.label_coverage === undefined ? null : p.label_coverage; }),
                 type: "bar", name: "label coverage", yaxis: "y2", opacity: 0.25, marker: {color: "#888"}});
    Plotly.react("chart-performance", traces, Object.assign(layout("Performance over time (labels due only)", "metric"), {
      height: 320, shapes: shapes, yaxis: {title: {text: "metric"}, range: [0, 1.05]},
      yaxis2: {title: {text: "label coverage"}, overlaying: "y", side: "right", range: [0, 1.05], showgrid: false},
      margin: {l: 50, r: 50, t: 40, b: 40}}), config);
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
    if (!document.getElementById("dashboard") || typeof Plotly === "undefined") return;
    load();
    setInterval(function () { if (document.getElementById("auto-refresh").checked) load(); }, 30000);
  });
})();
