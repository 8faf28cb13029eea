// Canary analysis: one small bar chart per checked metric (the metrics have their own scales: a rate, a latency,
// a PSI), the primary arm and the canary arm side by side, the check's limit as a dashed line, the canary's bar
// in the state colour of its outcome once judged.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("canary-analysis-data");
  if (!node || typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var data = JSON.parse(node.textContent);
  var seen = {}, metrics = [];
  data.metrics.forEach(function (m) {
    if (!seen[m.metric]) { seen[m.metric] = {metric: m.metric, canary: m.canary, primary: m.primary, limits: [], passed: true}; metrics.push(seen[m.metric]); }
    if (m.threshold !== null) seen[m.metric].limits.push(m.threshold);
    if (m.passed === false) seen[m.metric].passed = false;
  });
  metrics = metrics.filter(function (m) { return m.canary !== null || m.primary !== null; });
  if (!metrics.length) {
    asText.fill("canary-analysis-chart", [asText.el("p", {class: "muted"}, "No values yet: the arms have not been measured.")]);
    return;
  }
  var traces = [], shapes = [], annotations = [];
  metrics.forEach(function (m, i) {
    var axis = i ? String(i + 1) : "";
    var canaryColour = data.status === "running" ? charts.colour("canary") : charts.colour(m.passed ? "succeeded" : "failed");
    traces.push({type: "bar", x: ["primary", "canary"], y: [m.primary, m.canary], xaxis: "x" + axis, yaxis: "y" + axis,
                 marker: {color: [charts.colour("primary"), canaryColour]}, showlegend: false,
                 hovertemplate: asText.plotly(m.metric) + " %{x}: %{y:.4g}<extra></extra>"});
    m.limits.forEach(function (limit) {
      shapes.push({type: "line", xref: "x" + axis + " domain", yref: "y" + axis, x0: 0, x1: 1, y0: limit, y1: limit,
                   line: {dash: "dash", width: 1.5, color: charts.colour("reference")}});
    });
    annotations.push({text: asText.plotly(m.metric), xref: "x" + axis + " domain", yref: "y" + axis + " domain",
                      x: 0.5, y: 1.12, showarrow: false, font: {size: 12}});
  });
  var layout = charts.layout("", {height: 260, grid: {rows: 1, columns: metrics.length, pattern: "independent", xgap: 0.25},
                                  shapes: shapes, annotations: annotations, margin: {t: 30, l: 10, r: 10, b: 10}});
  metrics.forEach(function (m, i) {
    var axis = i ? String(i + 1) : "";
    layout["yaxis" + axis] = {automargin: true, rangemode: "tozero"};
    layout["xaxis" + axis] = {automargin: true};
  });
  charts.draw("canary-analysis-chart", traces, layout);
});
