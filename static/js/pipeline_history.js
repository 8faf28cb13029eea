// Pipeline page: run durations (bars) and the trained model's quality (line) across the last runs.
document.addEventListener("DOMContentLoaded", function () {
  var points = JSON.parse(document.getElementById("history-data").textContent);
  var runs = points.map(function (p) { return "#" + p.run; });
  var colours = points.map(function (p) { return p.status === "succeeded" ? "#1f8a4c" : (p.status === "failed" ? "#c0392b" : "#888"); });
  var traces = [{type: "bar", x: runs, y: points.map(function (p) { return p.duration_s; }), name: "duration (s)",
                 marker: {color: colours}}];
  var metric = points.some(function (p) { return p.roc_auc !== null; }) ? "roc_auc" : "r2";
  traces.push({x: runs, y: points.map(function (p) { return p[metric]; }), name: metric, yaxis: "y2",
               mode: "lines+markers", connectgaps: true});
  Plotly.newPlot("history-chart", traces, {height: 280, margin: {l: 50, r: 50, t: 20, b: 40},
    yaxis: {title: {text: "seconds"}}, yaxis2: {title: {text: metric}, overlaying: "y", side: "right"},
    legend: {orientation: "h"}, paper_bgcolor: "rgba(0,0,0,0)"}, {displayModeBar: false, responsive: true});
});
