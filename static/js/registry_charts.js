// Registry charts: metrics across versions, ROC / PR curves, importance, confusion matrix.
document.addEventListener("DOMContentLoaded", function () {
  var layout = function (title, x, y) {
    return {title: {text: title, font: {size: 14}}, height: 300, margin: {l: 50, r: 10, t: 40, b: 40},
            xaxis: {title: {text: x}}, yaxis: {title: {text: y}}, paper_bgcolor: "rgba(0,0,0,0)"};
  };
  var config = {displayModeBar: false, responsive: true};
  var metrics = document.getElementById("metrics-data");
  if (metrics) {
    var m = JSON.parse(metrics.textContent);
    var traces = Object.keys(m.series).map(function (name) {
      return {x: m.versions, y: m.series[name], name: asText.plotly(name), mode: "lines+markers"};
    });
    Plotly.newPlot("metrics-chart", traces, layout("Metrics by version", "version", ""), config);
  }
  var data = document.getElementById("evaluation-data");
  if (!data) return;
  var ev = JSON.parse(data.textContent);
  var curves = ev.curves || {};
  if (curves.roc) {
    Plotly.newPlot("roc-chart", [{x: curves.roc.fpr, y: curves.roc.tpr, mode: "lines", name: "ROC"},
      {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#aaa"}, showlegend: false}],
      layout("ROC curve", "false-positive rate", "true-positive rate"), config);
  }
  if (curves.pr) {
    Plotly.newPlot("pr-chart", [{x: curves.pr.recall, y: curves.pr.precision, mode: "lines", name: "PR"}],
      layout("Precision–recall", "recall", "precision"), config);
  }
  if (ev.feature_importance && ev.feature_importance.length) {
    var fi = ev.feature_importance.slice(0, 15).reverse();
    Plotly.newPlot("importance-chart", [{type: "bar", orientation: "h", y: fi.map(function (f) { return asText.plotly(f.feature); }),
      x: fi.map(function (f) { return f.importance; }), error_x: {array: fi.map(function (f) { return f.std; })}}],
      Object.assign(layout("Permutation importance", "drop in score", ""), {margin: {l: 110, r: 10, t: 40, b: 40}}), config);
  }
  var cm = ev.confusion_matrix || (ev.curves && ev.curves.confusion_matrix);
  if (cm && cm.matrix) {
    var labels = asText.plotly(cm.labels);
    Plotly.newPlot("confusion-chart", [{type: "heatmap", z: cm.matrix, x: labels, y: labels,
      colorscale: "Blues", reversescale: true, showscale: false, texttemplate: "%{z}"}],
      Object.assign(layout("Confusion matrix", "predicted", "actual"), {yaxis: {autorange: "reversed", title: {text: "actual"}}}), config);
  }
});
