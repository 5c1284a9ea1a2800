// Admin pages: the upload form's progress bar and size check (see templates/admin/import/show.html).
// The form works without this file (a plain POST); with it, htmx sends the files and this
// file shows how far the upload has got.
(function () {
  "use strict";

  function uploadForm(element) {
    return element && element.closest ? element.closest("form[data-upload-limit]") : null;
  }

  function formatMiB(bytes) {
    return (bytes / 1048576).toFixed(1) + " MiB";
  }

  function status(form, text) {
    const note = form.querySelector(".upload-status");
    if (note) note.textContent = text;
  }

  // Refuse a selection over the limit before sending it: the server would refuse it anyway,
  // after the browser had sent it all.
  document.addEventListener("htmx:confirm", function (event) {
    const form = uploadForm(event.target);
    if (!form) return;
    const limit = Number(form.dataset.uploadLimit);
    let total = 0;
    for (const file of form.querySelector("input[type=file]").files) total += file.size;
    if (limit && total > limit) {
      event.preventDefault();
      status(form, "These files total " + formatMiB(total) + ", over the upload limit of " +
        form.dataset.uploadLimitMb + " MiB: import them with `annotator import` or the API.");
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = uploadForm(event.target);
    if (!form) return;
    const bar = form.querySelector(".upload-progress");
    bar.value = 0;
    bar.hidden = false;
    delete form.dataset.uploaded;
    status(form, "Uploading…");
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    const form = uploadForm(event.target);
    // htmx reports the answer's download too; once the files are sent, the bar stays full.
    if (!form || !event.detail.lengthComputable || form.dataset.uploaded) return;
    const percent = (event.detail.loaded / event.detail.total) * 100;
    form.querySelector(".upload-progress").value = percent;
    if (percent >= 100) {
      form.dataset.uploaded = "1";
      status(form, "Uploaded; importing (the server checks every record first)…");
    } else {
      status(form, "Uploading… " + formatMiB(event.detail.loaded) + " of " + formatMiB(event.detail.total));
    }
  });

  // The too-large answer (413) carries the page's result fragment: show it, as for 422.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (uploadForm(event.detail.elt) && event.detail.xhr.status === 413) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const form = uploadForm(event.target);
    if (!form) return;
    form.querySelector(".upload-progress").hidden = true;
    status(form, event.detail.successful || event.detail.xhr.status === 422 || event.detail.xhr.status === 413
      ? "" : "The upload failed (" + (event.detail.xhr.status || "no answer") + "); nothing was imported.");
  });
})();
