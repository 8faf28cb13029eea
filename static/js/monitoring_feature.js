// One feature: the window's distribution over the training one, and its PSI per bucket with the thresholds.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("feature-data");
  if (!node || typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var d = JSON.parse(node.textContent);
  var share = function (counts) {
    var total = counts.reduce(function (a, b) { return a + b; }, 0) || 1;
    return counts.map(function (c) { return c / total; });
  };
  var labels = asText.plotly(d.labels);
  charts.draw("feature-distribution", [
    {type: "bar", x: labels, y: share(d.reference), name: "training", marker: {color: charts.colour("reference")}},
    {type: "bar", x: labels, y: share(d.current), name: "current", marker: {color: charts.colour("current")}}],
    charts.layout("Current against training", {barmode: "group", height: 320, yaxis: charts.rateAxis("share of rows"),
                                               xaxis: {automargin: true}}));
  var points = d.over_time.filter(function (p) { return p.psi !== null && p.psi !== undefined; });
  charts.drawLine("feature-drift", [{x: d.over_time.map(function (p) { return p.t; }),
    y: d.over_time.map(function (p) { return p.psi; }), mode: "lines+markers", name: "PSI",
    line: {color: charts.colour("current")}}],
    charts.layout("PSI over time", {height: 320, showlegend: false, yaxis: charts.fromZeroAxis("PSI"),
                                    xaxis: charts.timeAxis(), shapes: charts.thresholdLines(d.psi_limits)}),
    points.length, points.length ? "the window's traffic falls into one " + d.granularity + "; a line of PSI over time needs two."
                                 : "no traffic in this window.");
});
