// Approval evidence: candidate and the version serving now, overlaid (ROC, PR, importance) or side by side
// (confusion matrices). Also inlined into the downloadable report, so it may depend on nothing but Plotly and
// as_text.js (inlined before it).
(function () {
  function draw() {
    var node = document.getElementById("evidence-data");
    if (!node || typeof Plotly === "undefined") return;
    var data = JSON.parse(node.textContent);
    var sides = [["candidate", "#1f77b4"], ["current", "#ff7f0e"]].filter(function (s) { return data[s[0]]; });
    var config = {displayModeBar: false, responsive: true};
    var layout = function (title, x, y) {
      return {title: {text: title, font: {size: 14}}, height: 320, margin: {l: 55, r: 10, t: 40, b: 45},
              xaxis: {title: {text: x}}, yaxis: {title: {text: y}}, legend: {orientation: "h", y: -0.25},
              paper_bgcolor: "rgba(0,0,0,0)"};
    };
    var name = function (side) { return (side === "candidate" ? "candidate " : "serving ") + asText.plotly(data[side].label); };
    function plot(id, traces, lay) {
      var el = document.getElementById(id);
      if (el && traces.length) Plotly.newPlot(el, traces, lay, config);
    }
    var roc = [], pr = [], importance = [];
    sides.forEach(function (s) {
      var side = s[0], colour = s[1], curves = data[side].curves || {};
      if (curves.roc) roc.push({x: curves.roc.fpr, y: curves.roc.tpr, mode: "lines", name: name(side), line: {color: colour}});
      if (curves.pr) pr.push({x: curves.pr.recall, y: curves.pr.precision, mode: "lines", name: name(side), line: {color: colour}});
      var fi = (data[side].feature_importance || []).slice().reverse();
      if (fi.length) importance.push({type: "bar", orientation: "h", name: name(side), marker: {color: colour},
        y: fi.map(function (f) { return asText.plotly(f.feature); }), x: fi.map(function (f) { return f.importance; })});
    });
    if (roc.length) roc.push({x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#aaa"}, showlegend: false});
    plot("evidence-roc", roc, layout("ROC curve", "false-positive rate", "true-positive rate"));
    plot("evidence-pr", pr, layout("Precision–recall", "recall", "precision"));
    plot("evidence-importance", importance, Object.assign(layout("Permutation importance", "drop in score", ""),
      {barmode: "group", height: 420, margin: {l: 120, r: 10, t: 40, b: 45}}));
    sides.forEach(function (s) {
      var cm = data[s[0]].confusion_matrix;
      if (!cm || !cm.matrix) return;
      var labels = asText.plotly(cm.labels);
      plot("evidence-confusion-" + s[0], [{type: "heatmap", z: cm.matrix, x: labels, y: labels,
        colorscale: "Blues", reversescale: true, showscale: false, texttemplate: "%{z}"}],
        Object.assign(layout("Confusion matrix, " + name(s[0]), "predicted", "actual"),
          {yaxis: {autorange: "reversed", title: {text: "actual"}}}));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
