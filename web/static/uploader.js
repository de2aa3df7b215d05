// Drag-and-drop evidence upload with per-file progress; without JS the form posts normally.
(function () {
  "use strict";

  function csrf(form) {
    var input = form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function addPick(file) {
    var box = document.querySelector("#submit-form .evidence-pick");
    if (!box) return;
    var none = box.querySelector(".none-yet");
    if (none) none.remove();
    if (box.querySelector("input[value='" + file.id + "']")) return;
    var label = document.createElement("label");
    var check = document.createElement("input");
    check.type = "checkbox"; check.name = "evidence_ids"; check.value = String(file.id); check.checked = true;
    label.appendChild(check);
    label.appendChild(document.createTextNode(" " + file.filename + "（" + (file.size / 1024).toFixed(1) + " KB）"));
    box.appendChild(label);
  }

  function uploadOne(form, file, list) {
    var item = document.createElement("li");
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    item.textContent = file.name + " ";
    item.appendChild(bar);
    list.appendChild(item);
    var data = new FormData();
    data.append("files", file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf(form));
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) bar.value = Math.round((ev.loaded / ev.total) * 100);
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 201) {
        bar.value = 100;
        item.className = "ok";
        item.appendChild(document.createTextNode(" 已上传"));
        body.forEach(addPick);
      } else {
        item.className = "error";
        item.appendChild(document.createTextNode(" 上传失败：" + (body.detail || xhr.status)));
      }
    };
    xhr.onerror = function () { item.className = "error"; item.appendChild(document.createTextNode(" 网络错误")); };
    xhr.send(data);
  }

  function wire(form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".dropzone");
    var list = form.querySelector(".upload-progress");
    function send(files) { Array.prototype.forEach.call(files, function (f) { uploadOne(form, f, list); }); }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      send(input.files);
      input.value = "";
    });
    input.addEventListener("change", function () { send(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (ev) { send(ev.dataTransfer.files); });
    input.required = false;
  }

  function init(root) {
    (root || document).querySelectorAll("form.uploader:not([data-wired])").forEach(function (form) {
      form.setAttribute("data-wired", "1");
      wire(form);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { init(ev.target); });
})();
