/* Travel claim form: "Add another leg" / "Add another cost" add an empty row in place.
   Without JavaScript the same buttons post the form back and the server adds the row. */
(function () {
  "use strict";

  var ATTRIBUTES = ["name", "id", "for", "aria-describedby"];

  function nextIndex(rows, prefix) {
    var pattern = new RegExp("^" + prefix + "-(\\d+)-");
    var highest = -1;
    rows.forEach(function (row) {
      row.querySelectorAll("[name]").forEach(function (element) {
        var match = pattern.exec(element.getAttribute("name"));
        if (match) { highest = Math.max(highest, parseInt(match[1], 10)); }
      });
    });
    return highest + 1;
  }

  function emptyCopy(row, prefix, index, number) {
    var copy = row.cloneNode(true);
    var pattern = new RegExp(prefix + "-\\d+-", "g");
    copy.id = copy.id.replace(/\d+$/, String(index));
    [copy].concat(Array.prototype.slice.call(copy.querySelectorAll("*"))).forEach(function (el) {
      ATTRIBUTES.forEach(function (name) {
        var value = el.getAttribute(name);
        if (value) { el.setAttribute(name, value.replace(pattern, prefix + "-" + index + "-")); }
      });
    });
    copy.querySelectorAll(".field-errors").forEach(function (el) { el.remove(); });
    copy.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    copy.querySelectorAll("[aria-describedby]").forEach(function (el) {
      var ids = el.getAttribute("aria-describedby").split(/\s+/).filter(function (id) {
        return !/-error$/.test(id);
      });
      if (ids.length) { el.setAttribute("aria-describedby", ids.join(" ")); }
      else { el.removeAttribute("aria-describedby"); }
    });
    // A new row is not invalid: its copy carries no mark or message of the row it came from.
    copy.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    copy.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "checkbox") { el.checked = false; }
      else if (el.tagName === "SELECT") { el.selectedIndex = 0; }
      else { el.value = /-passengers$/.test(el.name) ? "0" : ""; }
    });
    var legend = copy.querySelector("legend");
    if (legend) { legend.textContent = legend.textContent.replace(/\d+/, String(number)); }
    return copy;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) { return; }
    var prefix = button.getAttribute("data-add-row");
    var list = document.getElementById(prefix);
    if (!list) { return; }
    var rows = Array.prototype.slice.call(list.querySelectorAll("fieldset.claim-row"));
    var most = parseInt(button.getAttribute("data-max") || "0", 10);
    if (!rows.length || (most && rows.length >= most)) { return; }
    event.preventDefault();
    var copy = emptyCopy(rows[rows.length - 1], prefix, nextIndex(rows, prefix), rows.length + 1);
    list.appendChild(copy);
    var first = copy.querySelector("input, select");
    if (first) { first.focus(); }
  });
})();
