// A search's trials: each trial's cross-validated score by trial number, coloured by status, the best circled;
// hovering a point names its parameters and worker. Redrawn after each live refresh of the run page.
function drawSearch() {
  var holder = document.getElementById("search-chart");
  var node = document.getElementById("search-data");
  if (!holder || !node || typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var points = JSON.parse(node.textContent).filter(function (p) { return p.score !== null; });
  if (!points.length) {
    asText.fill(holder, [asText.el("p", {class: "muted"}, "No trial has a score yet.")]);
    return;
  }
  var traces = [{
    type: "scatter", mode: "markers", x: points.map(function (p) { return p.trial; }),
    y: points.map(function (p) { return p.score; }), name: "trials",
    marker: {size: 9, color: points.map(function (p) { return charts.state(p.status); })},
    text: points.map(function (p) { return asText.plotly(p.params + (p.worker ? " on " + p.worker : "")); }),
    hovertemplate: "trial %{x}: %{y:.4f}<br>%{text}<extra></extra>"
  }];
  var best = points.filter(function (p) { return p.best; });
  if (best.length) {
    traces.push({type: "scatter", mode: "markers", x: [best[0].trial], y: [best[0].score], name: "best",
                 marker: {size: 18, color: "rgba(0,0,0,0)", line: {width: 2, color: charts.colour("candidate")}},
                 hoverinfo: "skip"});
  }
  charts.draw(holder, traces, charts.layout("", {height: 260,
    xaxis: {title: {text: "trial"}, dtick: 1, automargin: true}, yaxis: {title: {text: "score"}, automargin: true}}));
}
document.addEventListener("DOMContentLoaded", drawSearch);
document.addEventListener("htmx:afterSwap", drawSearch);
