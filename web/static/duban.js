// Page behaviour that the Content-Security-Policy keeps out of the templates (no inline script).

// Skip polls of elements marked data-poll-visible while the tab is hidden; an hx-trigger
// filter would do the same but needs eval, which the CSP forbids.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (document.visibilityState !== "visible" && elt && elt.hasAttribute("data-poll-visible")) {
    event.preventDefault();
  }
});

// Confirm before an irreversible action: a submit button (or form) with data-confirm asks
// first. Runs in the capture phase, before htmx's own listener, and stops the submission on
// "cancel". Without JavaScript the form submits as before.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var text = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
  if (text && !window.confirm(text)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
