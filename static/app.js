// The article page, keyboard first: a text selection becomes character offsets,
// keys and buttons become edits, and each edit is one htmx request whose
// response swaps in the fragments it changed. Without JavaScript the page still
// reads, and its forms post and come back with a 303.
(function () {
  "use strict";

  var LABEL_KEYS = { 1: "ACTOR", 2: "LOCATION", 3: "CASUALTY" };
  var RESIZE_KEYS = { "[": "grow-start", "]": "grow-end", "{": "shrink-start", "}": "shrink-end" };
  // Edits go out one at a time, each after the previous response has been swapped in,
  // so each carries the version that response brought (no 409 from typing fast).
  var queue = Promise.resolve();
  // The span whose panel was last asked for ("" for none): clicking it again asks nothing.
  var panelFor = null;

  function editor() { return document.getElementById("editor"); }
  function textElement() { return document.getElementById("article-text"); }
  function editable() { var ed = editor(); return !!ed && ed.dataset.editable === "true"; }
  function selectedMark() { return document.querySelector("#article-text mark.selected"); }
  function currentVersion() { return document.getElementById("status").dataset.version; }

  function say(text, kind) {
    var message = document.getElementById("message");
    if (!message) return;
    message.textContent = text;
    message.className = "message message-" + (kind || "info");
  }

  function send(method, url, values, options) {
    queue = queue.then(function () {
      var body = Object.assign({}, values);
      if (method === "POST") body.version = currentVersion();
      return htmx.ajax(method, url, Object.assign({ source: editor(), swap: "none", values: body }, options));
    }).then(afterSwap).catch(function () { /* reported by the htmx event handlers below */ });
    return queue;
  }

  // Python counts characters in code points, the DOM in UTF-16 units: count code points.
  function offsetIn(root, node, offset) {
    var range = document.createRange();
    range.setStart(root, 0);
    range.setEnd(node, offset);
    return Array.from(range.toString()).length;
  }

  function selectedOffsets() {
    var root = textElement();
    var selection = window.getSelection();
    if (!root || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
    return {
      start: offsetIn(root, range.startContainer, range.startOffset),
      end: offsetIn(root, range.endContainer, range.endOffset),
    };
  }

  function applyLabel(label) {
    var offsets = selectedOffsets();
    if (offsets) {
      window.getSelection().removeAllRanges();
      send("POST", editor().dataset.urlAdd, { start: offsets.start, end: offsets.end, label: label });
    } else if (selectedMark()) {
      spanEdit("urlRelabel", { label: label });
    } else {
      say("Select some text in the article first (or click a span to relabel it).", "error");
    }
  }

  function spanEdit(urlKey, values) {
    var mark = selectedMark();
    if (!mark) {
      say("Click a span first.", "error");
      return;
    }
    send("POST", editor().dataset[urlKey], Object.assign({ span: mark.dataset.spanId }, values));
  }

  function selectMark(mark) {
    if (panelFor === null) panelFor = document.getElementById("span-panel").dataset.spanId;
    var current = selectedMark();
    var spanId = mark ? mark.dataset.spanId : "";
    if (current === mark && panelFor === spanId) return;
    panelFor = spanId;
    if (current) {
      current.classList.remove("selected");
      current.removeAttribute("aria-current");
    }
    if (mark) {
      mark.classList.add("selected");
      mark.setAttribute("aria-current", "true");
    }
    send("GET", editor().dataset.urlPanel, mark ? { span: spanId } : {}, {
      target: "#span-panel",
      swap: "outerHTML",
    });
  }

  function afterSwap() {
    var panel = document.getElementById("span-panel");
    if (panel) panelFor = panel.dataset.spanId;
  }

  // The span before or after the selected one (the first or last when none is selected).
  function stepMark(step) {
    var marks = Array.from(document.querySelectorAll("#article-text mark"));
    if (!marks.length) return;
    var index = marks.indexOf(selectedMark());
    var next = index < 0 ? (step > 0 ? 0 : marks.length - 1) : Math.min(Math.max(index + step, 0), marks.length - 1);
    marks[next].scrollIntoView({ block: "nearest" });
    selectMark(marks[next]);
  }

  document.addEventListener("mousedown", function (event) {
    // Keep the text selection (and focus) when a label button is pressed.
    if (event.target.closest(".legend button[data-label]")) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (!editor()) return;
    var labelButton = event.target.closest(".legend button[data-label]");
    if (labelButton) {
      if (editable()) applyLabel(labelButton.dataset.label);
      return;
    }
    var mark = event.target.closest("#article-text mark");
    if (mark && window.getSelection().isCollapsed) selectMark(mark);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("#editor form[data-edit]")) return;
    event.preventDefault();
    var values = Object.fromEntries(new FormData(form, event.submitter));
    delete values.version;
    delete values.csrf_token;
    send("POST", form.action, values);
  });

  document.addEventListener("keydown", function (event) {
    var ed = editor();
    if (!ed || event.defaultPrevented || event.isComposing) return;
    var target = event.target;
    if (target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var key = event.key;
    if (event.ctrlKey || event.metaKey) {
      if (key.toLowerCase() === "z" && !event.shiftKey && !event.altKey && editable()) {
        event.preventDefault();
        send("POST", ed.dataset.urlUndo, {});
      }
      return;
    }
    if (event.altKey) return;
    if (key === "n") {
      var next = document.getElementById("next-article");
      if (next) {
        event.preventDefault();
        // Leave only once every edit sent so far has been answered.
        queue.then(function () { window.location.assign(next.href); });
      }
      return;
    }
    if ((key === "ArrowRight" || key === "ArrowLeft") && !event.shiftKey) {
      event.preventDefault();
      stepMark(key === "ArrowRight" ? 1 : -1);
      return;
    }
    if (key === "Escape") {
      window.getSelection().removeAllRanges();
      if (selectedMark()) selectMark(null);
      return;
    }
    if (!editable()) return;
    if (LABEL_KEYS[key]) {
      event.preventDefault();
      applyLabel(LABEL_KEYS[key]);
    } else if (key === "Delete" || key === "Backspace") {
      event.preventDefault();
      spanEdit("urlDelete", {});
    } else if (RESIZE_KEYS[key]) {
      event.preventDefault();
      spanEdit("urlResize", { move: RESIZE_KEYS[key] });
    } else if (key === "Enter") {
      if (target.closest("button, a, summary")) return;
      event.preventDefault();
      send("POST", ed.dataset.urlStatus, { status: "accepted" });
    } else if (key === "s") {
      event.preventDefault();
      send("POST", ed.dataset.urlStatus, { status: "skipped" });
    } else if (key === "f") {
      event.preventDefault();
      document.getElementById("flag-comment").focus();
    } else if (key === "e") {
      var field = document.querySelector("#span-panel .attrs input, #span-panel .attrs select");
      if (field) {
        event.preventDefault();
        field.focus();
      }
    }
  });

  // Errors that carry no fragment (403, 404, a CSRF 400) and network failures: say so.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    // A 503 from the app (database unavailable) brings its own message: it says whether the edit was saved.
    var own = page.getElementById("message");
    if (own) {
      say(own.textContent, "error");
      return;
    }
    var detail = page.querySelector(".error p");
    var text = detail ? detail.textContent : xhr.status + " " + xhr.statusText;
    say((event.detail.requestConfig.verb === "get" ? "" : "Not saved: ") + text, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    say("Not saved: the server could not be reached. Check the connection, then repeat the edit.", "error");
  });
})();
