// Gantt-style chart of the steps' timings on the run page; redrawn after each live refresh.
function drawTimeline() {
  var holder = document.getElementById("timeline");
  var data = document.getElementById("timeline-data");
  if (!holder || !data || typeof Plotly === "undefined") return;
  var steps = JSON.parse(data.textContent);
  var colours = {succeeded: "#1f8a4c", failed: "#c0392b", running: "#0172ad", waiting_approval: "#b7791f",
                 cancelled: "#888", queued: "#aaa"};
  var traces = steps.map(function (s) {
    var start = new Date(s.start), end = new Date(s.end);
    // The step's name is data: escaped for Plotly, and never part of the hover template itself.
    var name = asText.plotly(s.name);
    return {type: "bar", orientation: "h", y: [name], x: [Math.max(end - start, 50)], base: [s.start],
            marker: {color: colours[s.status] || "#888"}, name: name, showlegend: false,
            hovertemplate: "%{y}: %{x} ms<extra></extra>"};
  });
  Plotly.react(holder, traces, {height: 60 + 24 * steps.length, margin: {l: 120, r: 10, t: 10, b: 30},
    xaxis: {type: "date"}, yaxis: {autorange: "reversed"}, barmode: "overlay",
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"}, {displayModeBar: false, responsive: true});
}
document.addEventListener("DOMContentLoaded", drawTimeline);
document.addEventListener("htmx:afterSwap", drawTimeline);
document.addEventListener("run-finished", function () {
  var live = document.getElementById("live");
  if (live) { live.removeAttribute("hx-trigger"); htmx.process(live); }
});
