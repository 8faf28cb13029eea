// Deployment history: the primary version as a step line over time, canary and shadow changes as markers.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("timeline-data");
  if (!node || typeof Plotly === "undefined") return;
  var events = JSON.parse(node.textContent);
  if (!events.length) return;
  var primaryActions = {deploy: 1, promote_canary: 1, rollback: 1};
  var t = [], v = [], text = [];
  events.forEach(function (e) {
    if (primaryActions[e.action]) { t.push(e.t); v.push(e.version); text.push(asText.plotly(e.action + " by " + e.actor)); }
  });
  if (t.length) { t.push(new Date().toISOString()); v.push(v[v.length - 1]); text.push("now"); }
  var others = events.filter(function (e) { return !primaryActions[e.action]; });
  var traces = [{x: t, y: v, text: text, mode: "lines+markers", line: {shape: "hv"}, name: "primary",
                 hovertemplate: "v%{y}<br>%{text}<br>%{x}<extra></extra>"}];
  if (others.length) {
    traces.push({x: others.map(function (e) { return e.t; }), y: others.map(function (e) { return e.version; }),
                 text: others.map(function (e) { return asText.plotly(e.action + " by " + e.actor); }), mode: "markers",
                 marker: {symbol: "diamond", size: 10}, name: "canary / shadow",
                 hovertemplate: "v%{y}<br>%{text}<br>%{x}<extra></extra>"});
  }
  Plotly.newPlot("deployment-timeline", traces, {height: 260, margin: {l: 50, r: 10, t: 10, b: 40},
    yaxis: {title: {text: "version"}, dtick: 1}, legend: {orientation: "h"}, paper_bgcolor: "rgba(0,0,0,0)"},
    {displayModeBar: false, responsive: true});
});
