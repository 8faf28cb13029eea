// Approval evidence: candidate and the version serving now, overlaid (ROC, PR, importance) or side by side
// (confusion matrices). Also inlined into the downloadable report, so it may depend on nothing but Plotly,
// as_text.js and charts.js (inlined before it).
(function () {
  function draw() {
    var node = document.getElementById("evidence-data");
    if (!node || typeof Plotly === "undefined" || typeof charts === "undefined") return;
    var data = JSON.parse(node.textContent);
    // The candidate in the canary's colour (it goes out as one), the serving version in the primary's.
    var sides = [["candidate", charts.colour("candidate")], ["current", charts.colour("serving")]]
      .filter(function (s) { return data[s[0]]; });
    var name = function (side) { return (side === "candidate" ? "candidate " : "serving ") + asText.plotly(data[side].label); };
    var curve = function (title, x, y) {
      return charts.layout(title, {height: 340, xaxis: charts.unitAxis(x), yaxis: charts.unitAxis(y)});
    };
    function plot(id, traces, lay) {
      if (document.getElementById(id) && traces.length) charts.draw(id, traces, lay);
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
    if (roc.length) roc.push({x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#aaa"}, showlegend: false,
                              hoverinfo: "skip"});
    plot("evidence-roc", roc, curve("ROC curve", "false-positive rate", "true-positive rate"));
    plot("evidence-pr", pr, curve("Precision–recall", "recall", "precision"));
    var features = importance.length ? importance[0].y.length : 0;
    plot("evidence-importance", importance, charts.layout("Permutation importance", {
      barmode: "group", height: Math.max(320, 120 + features * 22 * importance.length),
      xaxis: {title: {text: "drop in score"}, automargin: true, zeroline: true},
      yaxis: {automargin: true, dtick: 1}}));
    var cost = data.candidate && data.candidate.cost_curve;
    if (cost) {
      var chosen = cost.chosen;
      plot("evidence-cost", [
        {x: cost.thresholds, y: cost.expected_cost, mode: "lines", name: "expected cost", line: {color: charts.colour("candidate")}},
        {x: cost.thresholds, y: cost.approval_rate, mode: "lines", name: "approval rate", yaxis: "y2",
         line: {dash: "dot", color: charts.colour("serving")}},
        {x: [chosen.threshold], y: [chosen.expected_cost], mode: "markers", name: "chosen threshold",
         marker: {size: 11, symbol: "diamond", color: charts.colour("candidate")},
         hovertemplate: "threshold %{x:.4f}: cost %{y:.4f}<extra></extra>"}
      ], charts.layout("Expected cost by decision threshold", {height: 340,
        xaxis: charts.unitAxis("threshold on the probability of the positive label"),
        yaxis: {title: {text: "expected cost per application"}, rangemode: "tozero", automargin: true},
        yaxis2: {title: {text: "approval rate"}, overlaying: "y", side: "right", range: [0, 1], automargin: true}}));
    }
    sides.forEach(function (s) {
      var cm = data[s[0]].confusion_matrix;
      if (!cm || !cm.matrix) return;
      var labels = asText.plotly(cm.labels);
      plot("evidence-confusion-" + s[0], [{type: "heatmap", z: cm.matrix, x: labels, y: labels,
        colorscale: charts.countScale, showscale: false, texttemplate: "%{z}", hovertemplate: "actual %{y}, predicted %{x}: %{z}<extra></extra>"}],
        charts.layout("Confusion matrix, " + name(s[0]), {height: 340, showlegend: false,
          xaxis: {title: {text: "predicted"}, type: "category", automargin: true},
          yaxis: {title: {text: "actual"}, type: "category", autorange: "reversed", automargin: true}}));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
