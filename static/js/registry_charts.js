// Registry charts: metrics across versions, ROC / PR curves, importance, confusion matrix.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var metrics = document.getElementById("metrics-data");
  if (metrics) {
    var m = JSON.parse(metrics.textContent);
    var names = Object.keys(m.series);
    var traces = names.map(function (name, i) {
      return {x: m.versions, y: m.series[name], name: asText.plotly(name), mode: "lines+markers",
              line: {color: charts.group(i)}};
    });
    // Versions are whole numbers: one tick each, not 1.5.
    charts.drawLine("metrics-chart", traces, charts.layout("Metrics by version", {
      xaxis: {title: {text: "version"}, dtick: 1, tickformat: "d", automargin: true},
      yaxis: {automargin: true}}), m.versions.length, "one version so far; a line across versions needs two.");
  }
  var data = document.getElementById("evaluation-data");
  if (!data) return;
  var ev = JSON.parse(data.textContent);
  var curves = ev.curves || {};
  var colour = charts.colour("candidate");
  var curve = function (title, x, y) {
    return charts.layout(title, {showlegend: false, xaxis: charts.unitAxis(x), yaxis: charts.unitAxis(y)});
  };
  if (curves.roc) {
    charts.draw("roc-chart", [{x: curves.roc.fpr, y: curves.roc.tpr, mode: "lines", name: "ROC", line: {color: colour}},
      {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#aaa"}, showlegend: false, hoverinfo: "skip"}],
      curve("ROC curve", "false-positive rate", "true-positive rate"));
  }
  if (curves.pr) {
    charts.draw("pr-chart", [{x: curves.pr.recall, y: curves.pr.precision, mode: "lines", name: "PR", line: {color: colour}}],
      curve("Precision–recall", "recall", "precision"));
  }
  if (ev.feature_importance && ev.feature_importance.length) {
    var fi = ev.feature_importance.slice(0, 15).reverse();
    charts.draw("importance-chart", [{type: "bar", orientation: "h", y: fi.map(function (f) { return asText.plotly(f.feature); }),
      x: fi.map(function (f) { return f.importance; }), error_x: {array: fi.map(function (f) { return f.std; })},
      marker: {color: colour}}],
      charts.layout("Permutation importance", {showlegend: false, height: Math.max(300, 100 + 22 * fi.length),
        xaxis: {title: {text: "drop in score"}, automargin: true}, yaxis: {automargin: true, dtick: 1}}));
  }
  var cm = ev.confusion_matrix || (ev.curves && ev.curves.confusion_matrix);
  if (cm && cm.matrix) {
    var labels = asText.plotly(cm.labels);
    charts.draw("confusion-chart", [{type: "heatmap", z: cm.matrix, x: labels, y: labels,
      colorscale: charts.countScale, showscale: false, texttemplate: "%{z}",
      hovertemplate: "actual %{y}, predicted %{x}: %{z}<extra></extra>"}],
      charts.layout("Confusion matrix", {showlegend: false,
        xaxis: {title: {text: "predicted"}, type: "category", automargin: true},
        yaxis: {title: {text: "actual"}, type: "category", autorange: "reversed", automargin: true}}));
  }
});
