// Saved filters, per browser: a list's filter form with data-saved-filters="NAME" gets a
// "save" button that keeps the current query string under a name the person gives
// (localStorage, key duban.filters.NAME), and a row of links back to each saved view.
// The filters themselves always live in the URL, so a saved view is only a link.
(function () {
  function load(key) {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function store(key, list) { localStorage.setItem(key, JSON.stringify(list.slice(0, 20))); }

  function render(form, box, key) {
    box.textContent = "";
    var saved = load(key);
    var label = document.createElement("span");
    label.className = "muted small";
    label.textContent = form.dataset.labelSaved || "";
    box.appendChild(label);
    saved.forEach(function (entry, i) {
      var link = document.createElement("a");
      link.href = entry.href;
      link.className = "saved-filter";
      link.textContent = entry.name;
      var drop = document.createElement("button");
      drop.type = "button";
      drop.className = "btn btn-plain btn-small";
      drop.textContent = "×";
      drop.setAttribute("aria-label", (form.dataset.labelRemove || "") + " " + entry.name);
      drop.addEventListener("click", function () {
        var list = load(key); list.splice(i, 1); store(key, list); render(form, box, key);
      });
      box.appendChild(link); box.appendChild(drop);
    });
    var save = document.createElement("button");
    save.type = "button";
    save.className = "btn btn-small";
    save.textContent = form.dataset.labelSave || "";
    save.addEventListener("click", function () {
      var name = window.prompt(form.dataset.labelPrompt || "", "");
      if (!name) { return; }
      var list = load(key).filter(function (e) { return e.name !== name; });
      list.unshift({ name: name.slice(0, 40), href: location.pathname + location.search });
      store(key, list); render(form, box, key);
    });
    box.appendChild(save);
  }

  function init() {
    document.querySelectorAll("form[data-saved-filters]").forEach(function (form) {
      if (form.nextElementSibling && form.nextElementSibling.classList.contains("saved-filters")) { return; }
      var box = document.createElement("div");
      box.className = "saved-filters";
      form.insertAdjacentElement("afterend", box);
      render(form, box, "duban.filters." + form.dataset.savedFilters);
    });
  }
  document.addEventListener("DOMContentLoaded", init);
})();
