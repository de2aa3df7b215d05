// Page behaviour that the Content-Security-Policy keeps out of the templates (no inline script).

// Skip polls of elements marked data-poll-visible while the tab is hidden; an hx-trigger
// filter would do the same but needs eval, which the CSP forbids.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (document.visibilityState !== "visible" && elt && elt.hasAttribute("data-poll-visible")) {
    event.preventDefault();
  }
});
