// Sort a table by a column when its header button is clicked (numbers by data-sort, missing last).
(function () {
  "use strict";
  function value(cell, numeric) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "") { return null; }
    if (!numeric) { return raw.toLowerCase(); }
    var n = Number(raw);
    return isNaN(n) ? null : n;
  }
  function sortBy(table, heads, index) {
    var th = heads[index];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var numeric = th.getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[index], numeric);
      var y = value(b.cells[index], numeric);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var order = numeric ? x - y : x.localeCompare(y);
      return ascending ? order : -order;
    });
    Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      var button = th.querySelector("button");
      if (button) { button.addEventListener("click", function () { sortBy(table, heads, index); }); }
    });
  });
}());
