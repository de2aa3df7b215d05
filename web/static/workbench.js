// The policy workbench (templates/drafts/review.html); a static file, as the CSP allows no inline script.

// A stale-lock refusal (409) re-renders the workbench with its message: swap it like a 422.
document.addEventListener("htmx:beforeSwap", function (e) {
  if (e.detail.xhr.status === 409 && e.detail.target && e.detail.target.id === "workbench") {
    e.detail.shouldSwap = true; e.detail.isError = false;
  }
});
