// The YAML editor: CodeMirror with server-side validation as you type (debounced),
// errors marked at their lines, and the stage graph preview.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("pipeline-form");
  var textarea = document.getElementById("id_yaml");
  var panel = document.getElementById("validation");
  var graph = document.getElementById("graph-preview");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var latest = 0;

  function status(kind, text) {
    var p = document.createElement("p");
    p.className = "status status-" + kind;
    p.textContent = text;
    panel.replaceChildren(p);
  }

  function showGraph(html) {
    // The stage graph is the server's template, rendered with Django's escaping (as an HTMX swap would be);
    // parsed apart from the page, then moved in.
    var parsed = new DOMParser().parseFromString(html, "text/html");
    graph.replaceChildren.apply(graph, Array.from(parsed.body.childNodes));
  }

  function showErrors(errors) {
    if (!errors.length) {
      status("ok", "valid");
      return;
    }
    var head = document.createElement("p");
    head.className = "status status-bad";
    head.textContent = errors.length + (errors.length === 1 ? " error" : " errors");
    var list = document.createElement("ul");
    list.className = "errors";
    errors.forEach(function (e) {
      var li = document.createElement("li");
      li.dataset.line = e.line;
      li.textContent = "line " + e.line + ", column " + e.column + ": " + e.message;
      li.addEventListener("click", function () {
        editor.setCursor({line: e.line - 1, ch: Math.max(e.column - 1, 0)});
        editor.focus();
      });
      list.appendChild(li);
    });
    panel.replaceChildren(head, list);
  }

  function validate(text, updateLinting) {
    var ticket = ++latest;
    var body = new URLSearchParams({yaml: text});
    fetch(form.dataset.validateUrl, {method: "POST", body: body, credentials: "same-origin",
                                     headers: {"X-CSRFToken": csrf}})
      .then(function (r) { return r.json(); })
      .then(function (result) {
        if (ticket !== latest) return;  // a newer edit is on its way
        showErrors(result.errors);
        if (result.valid) showGraph(result.graph_html);
        updateLinting(editor, result.errors.map(function (e) {
          var line = Math.max(e.line - 1, 0), ch = Math.max(e.column - 1, 0);
          return {from: CodeMirror.Pos(line, ch), to: CodeMirror.Pos(line, ch + 1), message: e.message,
                  severity: "error"};
        }));
      })
      .catch(function () { status("warn", "could not reach the server to check"); });
  }

  var editor = CodeMirror.fromTextArea(textarea, {
    mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, gutters: ["CodeMirror-lint-markers"],
    screenReaderLabel: "Pipeline file (YAML, version 1)",
    extraKeys: {Tab: function (cm) { cm.replaceSelection("  "); }},
    lint: {getAnnotations: function (text, update) { validate(text, update); }, async: true, delay: 400}
  });
  // Keyboard users can reach the scrolling area (and so scroll a long file) with Tab.
  editor.getScrollerElement().setAttribute("tabindex", "0");
  window.pipelineEditor = editor;
  form.addEventListener("submit", function () { editor.save(); });
});
