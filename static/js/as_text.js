// Data reaches the page as text (STYLE.md 14): elements are built with textContent, never from HTML strings, and
// strings handed to Plotly have <, > and & escaped, since Plotly reads <b>, <i>, <br>, <a href> and <span style>
// in titles, tick labels, legends and hover text (and shows &lt; &gt; &amp; as the characters).
var asText = (function () {
  // el("td", {class: "muted", "data-level": "ok"}, "text", otherNode, ...): strings become text nodes.
  function el(tag, attributes) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  // Replaces what the element (or the element of that id) holds with the nodes given.
  function fill(target, nodes) {
    var node = typeof target === "string" ? document.getElementById(target) : target;
    node.replaceChildren.apply(node, nodes);
  }
  // A string (or each string of an array) as Plotly text; numbers, dates as numbers and nulls are left as they are.
  function plotly(value) {
    if (Array.isArray(value)) return value.map(plotly);
    if (typeof value !== "string") return value;
    return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  return {el: el, fill: fill, plotly: plotly};
})();
