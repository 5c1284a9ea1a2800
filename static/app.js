// The article page, keyboard first: a text selection becomes character offsets,
// keys and buttons become edits, and each edit is one htmx request whose
// response swaps in the fragments it changed. Without JavaScript the page still
// reads, and its forms post and come back with a 303.
(function () {
  "use strict";

  var LABEL_KEYS = { 1: "ACTOR", 2: "LOCATION", 3: "CASUALTY" };
  var RESIZE_KEYS = { "[": "grow-start", "]": "grow-end", "{": "shrink-start", "}": "shrink-end" };
  // The attribute form's fields, as `e` focuses them: never its hidden inputs.
  var ATTRIBUTE_FIELDS = "#span-panel form.attrs input:not([type=hidden]), #span-panel form.attrs select";
  // Edits go out one at a time, each after the previous response has been swapped in,
  // so each carries the version that response brought (no 409 from typing fast).
  var queue = Promise.resolve();
  // The span whose panel was last asked for ("" for none): clicking it again asks nothing.
  var panelFor = null;
  // Keys typed after `e` while the attribute form is still on its way; replayed into it.
  var typedAhead = null;
  // While the server's answer to an edit is unknown: the pending retry, and what went wrong.
  var recovery = null;
  var RETRY_FIRST_MS = 1000;
  var RETRY_MAX_MS = 30000;

  function editor() { return document.getElementById("editor"); }
  function textElement() { return document.getElementById("article-text"); }
  function editable() { var ed = editor(); return !!ed && ed.dataset.editable === "true"; }
  function panel() { return document.getElementById("span-panel"); }
  function selectedMark() {
    return markOf(panelFor === null ? (panel() ? panel().dataset.spanId : "") : panelFor);
  }
  function currentVersion() { return document.getElementById("status").dataset.version; }

  function say(text, kind) {
    var message = document.getElementById("message");
    if (!message) return;
    message.textContent = text;
    message.className = "message message-" + (kind || "info");
  }

  function send(method, url, values, options) {
    if (method === "POST" && recovery) {
      say("Not sent: waiting for the server to answer about your last edit. " + recovery.problem, "error");
      return queue;
    }
    var unless = options && options.unless;
    var htmxOptions = Object.assign({}, options);
    delete htmxOptions.unless;
    queue = queue.then(function () {
      if (unless && unless()) return null;
      var body = Object.assign({}, values);
      if (method === "POST") body.version = currentVersion();
      return htmx.ajax(method, url, Object.assign({ source: editor(), swap: "none", values: body }, htmxOptions));
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
    var spanId = mark.dataset.spanId;
    send("POST", editor().dataset[urlKey], Object.assign({ span: spanId }, values), {
      // An answer before this one may have shown the span gone (changed in another tab): then drop it.
      unless: function () { return !markOf(spanId); },
    });
  }

  function markOf(spanId) {
    return spanId ? document.querySelector('#article-text mark[data-span-id="' + spanId + '"]') : null;
  }

  // Highlight exactly the span the panel shows: edits redraw only some chunks of the text,
  // and a click may land while an edit's answer is on its way.
  function showSelected() {
    var id = panel() ? panel().dataset.spanId : "";
    document.querySelectorAll("#article-text mark.selected").forEach(function (mark) {
      if (mark.dataset.spanId !== id) {
        mark.classList.remove("selected");
        mark.removeAttribute("aria-current");
      }
    });
    var mark = markOf(id);
    if (mark) {
      mark.classList.add("selected");
      mark.setAttribute("aria-current", "true");
    }
  }

  function selectMark(mark) {
    var spanId = mark ? mark.dataset.spanId : "";
    if (panelFor === null) panelFor = panel().dataset.spanId;
    if (panelFor === spanId) return;
    panelFor = spanId;
    document.querySelectorAll("#article-text mark.selected").forEach(function (each) {
      each.classList.remove("selected");
      each.removeAttribute("aria-current");
    });
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
    if (panel()) panelFor = panel().dataset.spanId;
    showSelected();
    if (curating()) {
      restoreCandidate();
      var anyway = document.getElementById("finish-anyway");
      if (anyway && finishAsked) anyway.focus();
      finishAsked = false;
    }
  }

  // --- the curation view: candidates, j / k / a / x, finishing -------------------------------

  function curating() { var ed = editor(); return !!ed && !!ed.dataset.urlDecide; }
  // The candidate j / k last moved to: its key, and where it starts, to go on from when it is answered.
  var currentCandidate = null;
  // A finish was just asked for: when the server asks to confirm, the confirm button takes the focus.
  var finishAsked = false;

  function openCandidates() { return Array.from(document.querySelectorAll("#candidates li[data-open]")); }

  function candidateByKey(key) {
    return openCandidates().find(function (item) { return item.dataset.key === key; }) || null;
  }

  function stepCandidate(step) {
    var items = openCandidates();
    if (!items.length) {
      say("No open candidates: the draft is ready to finish (Shift Enter).", "info");
      return;
    }
    var current = currentCandidate && candidateByKey(currentCandidate.key);
    var index = items.indexOf(current);
    var next = index < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(index + step, 0), items.length - 1);
    showCandidate(items[next], true);
  }

  // After an answer the candidate is gone from the open ones: stay at the first open one after where it was.
  function restoreCandidate() {
    var items = openCandidates();
    var item = null;
    if (currentCandidate) {
      item = candidateByKey(currentCandidate.key) || items.find(function (each) {
        return Number(each.dataset.start) >= currentCandidate.start;
      }) || items[items.length - 1] || null;
    }
    showCandidate(item, false);
  }

  function showCandidate(item, scroll) {
    document.querySelectorAll("#candidates li.current").forEach(function (each) {
      each.classList.remove("current");
      each.removeAttribute("aria-current");
    });
    currentCandidate = item ? { key: item.dataset.key, start: Number(item.dataset.start) } : null;
    if (item) {
      item.classList.add("current");
      item.setAttribute("aria-current", "true");
      if (scroll) item.scrollIntoView({ block: "nearest" });
    }
    var range = paintCandidates(item);
    if (item && scroll && range) {
      var box = range.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) window.scrollBy(0, box.top - window.innerHeight / 3);
    }
    if (item && scroll) {
      var text = item.querySelector("q").textContent;
      say(item.querySelector(".chip").textContent + " “" + text + "”: " + item.querySelector(".kind").textContent +
        ". a accepts, x rejects.", "info");
    }
  }

  // The article text's nodes with the code point each starts at (Python counts code points).
  function textNodes() {
    var root = textElement();
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var nodes = [];
    var at = 0;
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var wide = /[\uD800-\uDFFF]/.test(node.data);
      var length = wide ? Array.from(node.data).length : node.data.length;
      nodes.push({ node: node, start: at, length: length, wide: wide });
      at += length;
    }
    return nodes;
  }

  function position(nodes, offset) {
    var low = 0;
    var high = nodes.length - 1;
    while (low < high) {
      var middle = (low + high + 1) >> 1;
      if (nodes[middle].start <= offset) low = middle; else high = middle - 1;
    }
    var entry = nodes[low];
    if (!entry) return null;
    var inside = offset - entry.start;
    if (entry.wide) inside = Array.from(entry.node.data).slice(0, inside).join("").length;
    return { node: entry.node, offset: Math.min(inside, entry.node.data.length) };
  }

  // Underline every open candidate in the text and mark the current one (CSS Custom Highlights,
  // so the text's own elements stay as they are); return the current one's range.
  function paintCandidates(current) {
    if (!window.CSS || !CSS.highlights || typeof Highlight === "undefined" || !textElement()) return null;
    var nodes = textNodes();
    var open = new Highlight();
    var chosen = new Highlight();
    var currentRange = null;
    openCandidates().forEach(function (item) {
      var from = position(nodes, Number(item.dataset.start));
      var to = position(nodes, Number(item.dataset.end));
      if (!from || !to) return;
      var range = document.createRange();
      range.setStart(from.node, from.offset);
      range.setEnd(to.node, to.offset);
      if (item === current) {
        chosen.add(range);
        currentRange = range;
      } else {
        open.add(range);
      }
    });
    CSS.highlights.set("candidate", open);
    CSS.highlights.set("candidate-current", chosen);
    return currentRange;
  }

  function decideCandidate(decision) {
    var item = currentCandidate && candidateByKey(currentCandidate.key);
    if (!item) {
      say("Press j to go to an open candidate first.", "error");
      return;
    }
    var key = item.dataset.key;
    var values = {};
    values[decision] = key;
    send("POST", editor().dataset.urlDecide, values, {
      unless: function () { return !candidateByKey(key); },
    });
  }

  function finishDraft() {
    finishAsked = true;
    send("POST", editor().dataset.urlFinish, {});
  }

  function cancelFinish() {
    var confirmation = document.getElementById("finish-confirm");
    if (!confirmation) return false;
    confirmation.remove();
    say("Not finished. j goes to the next open candidate.", "info");
    return true;
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

  // `i`: the next CASUALTY span that still lacks attributes, from the selected one on, round again.
  function nextIncomplete() {
    var marks = Array.from(document.querySelectorAll("#article-text mark[data-incomplete]"));
    if (!marks.length) {
      say("Every CASUALTY span has its attributes.", "info");
      return;
    }
    var current = selectedMark();
    var after = current && marks.find(function (mark) {
      return current.compareDocumentPosition(mark) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    var target = after || marks[0];
    target.scrollIntoView({ block: "nearest" });
    selectMark(target);
    say("Missing: " + target.dataset.incomplete.split(" ").join(", ") + ". Press e to fill them in.", "info");
  }

  // `e`: put the cursor in the selected CASUALTY span's first attribute field.
  function editAttributes() {
    var mark = selectedMark();
    if (!mark) {
      say("Click a CASUALTY span first, then press e to edit its attributes.", "error");
      return;
    }
    if (mark.dataset.label !== "CASUALTY") {
      say("Only CASUALTY spans have attributes (count, qualifier, outcome, group).", "error");
      return;
    }
    var field = document.querySelector(ATTRIBUTE_FIELDS);
    if (field && panel().dataset.spanId === mark.dataset.spanId) {
      focusField(field);
      return;
    }
    // The panel for this span is still on its way: keep what is typed until it is there.
    typedAhead = [];
    queue.then(function () {
      var keys = typedAhead || [];
      typedAhead = null;
      var ready = document.querySelector(ATTRIBUTE_FIELDS);
      if (!ready) return;
      focusField(ready);
      replay(ready, keys);
    });
  }

  function focusField(field) {
    field.focus();
    if (field.select) field.select();
  }

  function replay(field, keys) {
    keys.forEach(function (key) {
      if (key === "Enter") {
        field.form.requestSubmit();
      } else if (key === "Backspace") {
        field.value = field.value.slice(0, -1);
      } else if (key === "Escape") {
        field.blur();
      } else if (field.tagName === "INPUT" && document.activeElement === field) {
        field.value += key;
      }
    });
  }

  // --- when the server's answer is unknown ----------------------------------------------------

  // Ask the server what it now holds, as often as it takes, and show that instead of guessing.
  function recover(problem, why) {
    var ed = editor();
    if (!ed || !ed.dataset.urlRefresh) return;
    if (recovery) {
      recovery.problem = problem;
      return;
    }
    recovery = { problem: problem, why: why, delay: RETRY_FIRST_MS, timer: null };
    say(problem + " Checking what was saved…", "error");
    askServer();
  }

  function askServer() {
    recovery.timer = null;
    var why = recovery.why;
    queue = queue.then(function () {
      return htmx.ajax("GET", editor().dataset.urlRefresh, { source: editor(), swap: "none", values: { why: why } });
    }).catch(function () { /* retried by the htmx:afterRequest handler */ });
  }

  function retryLater() {
    var seconds = Math.round(recovery.delay / 1000);
    say(recovery.problem + " The server does not answer yet; asking again in " + seconds + " s.", "error");
    recovery.timer = setTimeout(askServer, recovery.delay);
    recovery.delay = Math.min(recovery.delay * 2, RETRY_MAX_MS);
  }

  function isRefresh(detail) {
    var ed = editor();
    var path = detail.requestConfig && detail.requestConfig.path;
    return !!(ed && path && path.split("?")[0] === ed.dataset.urlRefresh);
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!recovery || !isRefresh(event.detail)) return;
    if (event.detail.successful) {
      recovery = null; // the server's own message now says what it holds
      afterSwap();
    } else {
      retryLater();
    }
  });

  // --- events --------------------------------------------------------------------------------------

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
    if (event.target.closest("#finish-confirm .cancel-finish")) {
      cancelFinish();
      return;
    }
    var candidate = event.target.closest("#candidates li[data-open]");
    if (candidate && !event.target.closest("button")) {
      showCandidate(candidate, true);
      return;
    }
    var mark = event.target.closest("#article-text mark");
    if (mark && window.getSelection().isCollapsed) selectMark(mark);
  });

  // htmx gives a swapped entry back its own attributes once it settles: mark the current one again.
  document.addEventListener("htmx:afterSettle", function () { if (curating()) restoreCandidate(); });

  // The first paint of the curation view's candidates, once the page is there.
  document.addEventListener("DOMContentLoaded", function () { if (curating()) paintCandidates(null); });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("#editor form[data-edit]")) return;
    event.preventDefault();
    var values = Object.fromEntries(new FormData(form, event.submitter));
    delete values.version;
    delete values.csrf_token;
    var flagging = form.classList.contains("flag-form");
    if (curating() && form.action === new URL(editor().dataset.urlFinish, location.href).href) finishAsked = true;
    var done = send("POST", form.action, values);
    // Leave the field the edit came from, so that shortcut keys work again at once.
    if (document.activeElement && form.contains(document.activeElement)) document.activeElement.blur();
    if (flagging) {
      done.then(function () {
        var comment = document.getElementById("flag-comment");
        if (comment && document.getElementById("status").querySelector(".status-flagged")) comment.value = "";
      });
    }
  });

  document.addEventListener("keydown", function (event) {
    var ed = editor();
    if (!ed || event.defaultPrevented || event.isComposing) return;
    if (typedAhead) {
      // `e` was pressed and the attribute form is on its way: these keys are meant for it.
      if (event.key.length === 1 || ["Enter", "Backspace", "Escape"].indexOf(event.key) >= 0) {
        event.preventDefault();
        typedAhead.push(event.key);
      }
      return;
    }
    var target = event.target;
    if (target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") {
        target.blur();
      } else if (event.key === "Enter" && target.tagName === "SELECT" && target.form) {
        // Enter in an attribute's drop-down saves the attributes, as it does in the count field.
        event.preventDefault();
        target.form.requestSubmit();
      }
      return; // Enter in a form's field submits that form, never the article's status
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
      var next = document.getElementById("next-form");
      if (next) {
        event.preventDefault();
        // Leave only once every edit sent so far has been answered.
        queue.then(function () { next.submit(); });
      }
      return;
    }
    if ((key === "ArrowRight" || key === "ArrowLeft") && !event.shiftKey) {
      event.preventDefault();
      stepMark(key === "ArrowRight" ? 1 : -1);
      return;
    }
    if (key === "i") {
      event.preventDefault();
      nextIncomplete();
      return;
    }
    if (key === "Escape") {
      if (cancelFinish()) return;
      window.getSelection().removeAllRanges();
      if (selectedMark()) selectMark(null);
      return;
    }
    if (!editable()) return;
    if (curating()) {
      if (key === "j" || key === "k") {
        event.preventDefault();
        stepCandidate(key === "j" ? 1 : -1);
        return;
      }
      if (key === "a" || key === "x") {
        event.preventDefault();
        decideCandidate(key === "a" ? "accept" : "reject");
        return;
      }
      if (key === "Enter" && event.shiftKey && !target.closest("button, a, summary")) {
        event.preventDefault();
        finishDraft();
        return;
      }
    }
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
      // The curation view has no status: Enter there does nothing but what a focused button does.
      if (target.closest("button, a, summary") || !ed.dataset.urlStatus) return;
      event.preventDefault();
      send("POST", ed.dataset.urlStatus, { status: "accepted" });
    } else if (key === "s" && ed.dataset.urlStatus) {
      event.preventDefault();
      send("POST", ed.dataset.urlStatus, { status: "skipped" });
    } else if (key === "f" && document.getElementById("flag-comment")) {
      event.preventDefault();
      document.getElementById("flag-comment").focus();
    } else if (key === "e") {
      event.preventDefault();
      editAttributes();
    }
  });

  // Errors that carry no fragment (403, 404, a CSRF 400) and server failures: say so.
  document.addEventListener("htmx:responseError", function (event) {
    if (isRefresh(event.detail)) return; // handled by the recovery above
    var xhr = event.detail.xhr;
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    // A 503 from the app (database unavailable) brings its own message: it says whether the edit was saved.
    var own = page.getElementById("message");
    var detail = page.querySelector(".error p");
    var text = own ? own.textContent : detail ? detail.textContent : xhr.status + " " + xhr.statusText;
    var editing = event.detail.requestConfig.verb !== "get";
    if (xhr.status >= 500 && editing) {
      recover(text, "server");
      return;
    }
    say((editing && !own ? "Not saved: " : "") + text, "error");
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (isRefresh(event.detail)) return;
    if (event.detail.requestConfig.verb === "get") {
      say("The server could not be reached. Check the connection, then try again.", "error");
      return;
    }
    // The edit may have been saved before the connection dropped: ask, don't guess.
    recover("The connection dropped before the server answered, so your last edit may or may not be saved.", "network");
  });
})();
