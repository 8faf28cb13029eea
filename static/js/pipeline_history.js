// Pipeline page: run durations (bars) and the trained model's quality (line) across the last runs.
document.addEventListener("DOMContentLoaded", function () {
  var points = JSON.parse(document.getElementById("history-data").textContent);
  var runs = points.map(function (p) { return "#" + p.run; });
  var colours = points.map(function (p) { return charts.state(p.status); });
  var traces = [{type: "bar", x: runs, y: points.map(function (p) { return p.duration_s; }), name: "duration (s)",
                 marker: {color: colours}}];
  var metric = points.some(function (p) { return p.roc_auc !== null; }) ? "roc_auc" : "r2";
  traces.push({x: runs, y: points.map(function (p) { return p[metric]; }), name: metric, yaxis: "y2",
               mode: "lines+markers", connectgaps: true, line: {color: charts.group(0)}});
  charts.draw("history-chart", traces, charts.layout("", {height: 300,
    xaxis: {type: "category", automargin: true}, yaxis: charts.fromZeroAxis("seconds"),
    yaxis2: {title: {text: metric}, overlaying: "y", side: "right", automargin: true, showgrid: false,
             range: metric === "roc_auc" ? [0, 1.02] : undefined}}));
});
