// Small per-column distribution charts on the dataset page (Plotly, served from static/).
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("profile-data");
  if (!node || typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var data = JSON.parse(node.textContent);
  document.querySelectorAll(".mini-chart").forEach(function (el) {
    var col = data[el.dataset.column];
    if (!col) return;
    var trace;
    if (col.kind === "numeric" && col.histogram) {
      var edges = col.histogram.edges, mids = [];
      for (var i = 0; i < edges.length - 1; i++) mids.push((edges[i] + edges[i + 1]) / 2);
      trace = {type: "bar", x: mids, y: col.histogram.counts, marker: {color: charts.group(0)},
               hovertemplate: "%{x:.3g}: %{y}<extra></extra>"};
    } else if (col.frequencies) {
      var keys = Object.keys(col.frequencies);
      trace = {type: "bar", x: keys.map(function (k) { return k === "__other__" ? "other" : asText.plotly(k); }),
               y: keys.map(function (k) { return col.frequencies[k]; }), marker: {color: charts.group(2)},
               hovertemplate: "%{x}: %{y}<extra></extra>"};
    } else { return; }
    Plotly.newPlot(el, [trace], charts.layout("", {
      margin: {l: 4, r: 4, t: 4, b: 4}, height: 80, width: 220, bargap: 0.05, showlegend: false,
      xaxis: {showticklabels: col.kind !== "numeric", tickfont: {size: 9}, fixedrange: true, automargin: true},
      yaxis: {visible: false, fixedrange: true, rangemode: "tozero"}
    }), {displayModeBar: false, responsive: false});
  });
});
