// One feature: the window's distribution over the training one, and its PSI per bucket with the thresholds.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("feature-data");
  if (!node || typeof Plotly === "undefined") return;
  var d = JSON.parse(node.textContent);
  var share = function (counts) {
    var total = counts.reduce(function (a, b) { return a + b; }, 0) || 1;
    return counts.map(function (c) { return c / total; });
  };
  var config = {displayModeBar: false, responsive: true};
  var layout = function (title, y) {
    return {title: {text: title, font: {size: 14}}, height: 320, margin: {l: 50, r: 10, t: 40, b: 60},
            yaxis: {title: {text: y}}, legend: {orientation: "h", y: -0.3}, paper_bgcolor: "rgba(0,0,0,0)"};
  };
  var labels = asText.plotly(d.labels);
  Plotly.newPlot("feature-distribution", [
    {type: "bar", x: labels, y: share(d.reference), name: "training"},
    {type: "bar", x: labels, y: share(d.current), name: "current"}],
    Object.assign(layout("Current against training", "share of rows"), {barmode: "group"}), config);
  Plotly.newPlot("feature-drift", [{x: d.over_time.map(function (p) { return p.t; }),
    y: d.over_time.map(function (p) { return p.psi; }), mode: "lines+markers", name: "PSI"}],
    Object.assign(layout("PSI over time", "PSI"), {shapes: [
      {type: "line", xref: "paper", x0: 0, x1: 1, y0: d.psi_limits[0], y1: d.psi_limits[0], line: {dash: "dash", color: "#b7791f"}},
      {type: "line", xref: "paper", x0: 0, x1: 1, y0: d.psi_limits[1], y1: d.psi_limits[1], line: {dash: "dash", color: "#c0392b"}}]}), config);
});
