// The run table's view (an anywidget ES module): plain DOM, every value set as text.
// Python owns the data: it sends one page of rows; sorting, filtering and paging are
// trait changes that Python answers with the next page. The statuses and their colours
// come from Python too (status_colors), as do the colours of the stylesheet (--jt-*).
// While shown, the view asks Python whether the store changed ("poll"), every few seconds
// and less often while nothing does (poll_store_ms: first interval, longest back-off).
// Rows nest: a child sits under its parent (depth), which can fold its children away.

const GROUPS = [
  ["", "Run"],
  ["metric", "Metrics"],
  ["param", "Params"],
  ["tag", "Tags"],
];
const MAX_COMPARE = 20;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child != null && child !== false) node.append(child); // strings become text nodes
  }
  return node;
}

function render({ model, el }) {
  const root = h("div", { class: "jt-table" });
  el.append(root);
  const set = (changes) => {
    for (const [key, value] of Object.entries(changes)) model.set(key, value);
    model.save_changes();
    pollSoon();
  };

  // -- runs started elsewhere: ask Python, which answers "polled" (changed or not) ------
  const [pollFirst, pollLongest] = model.get("poll_store_ms");
  let pollDelay = pollFirst;
  let pollTimer = null;
  let askedAt = 0; // when the unanswered question was sent (0: none)
  function schedulePoll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(pollStore, pollDelay);
  }
  function pollStore() {
    const now = Date.now();
    if (!document.hidden && (!askedAt || now - askedAt > pollLongest)) {
      askedAt = now;
      model.send({ event: "poll" });
    }
    pollDelay = Math.min(pollDelay * 1.5, pollLongest);
    schedulePoll();
  }
  function pollSoon() {
    pollDelay = pollFirst;
    schedulePoll();
  }
  const onMessage = (message) => {
    if (!message || message.event !== "polled") return;
    askedAt = 0;
    if (message.changed) pollSoon();
  };
  model.on("msg:custom", onMessage);
  schedulePoll();
  const folded = new Set(); // parents whose children are hidden

  // -- toolbar: filter, columns, refresh, compare ------------------------------------
  const input = h("input", {
    class: "jt-filter",
    type: "text",
    spellcheck: "false",
    "aria-label": "Filter runs",
    placeholder: "Filter, e.g. metrics.loss < 0.5 and params.optimizer = 'adam'",
  });
  input.value = model.get("filter");
  const apply = () => set({ filter: input.value, page: 0 });
  // Keys typed here are for the box, not for notebook shortcuts.
  input.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Enter") apply();
    if (event.key === "Escape") input.value = model.get("filter");
  });
  const chooser = h("div", { class: "jt-chooser", hidden: true });
  const compareButton = h("button", {
    class: "jt-btn jt-primary jt-compare",
    onclick: () => model.send({ event: "compare" }),
  });
  const clearSelection = h(
    "button",
    { class: "jt-btn jt-link", onclick: () => set({ selected: [] }) },
    "clear selection",
  );
  const toolbar = h(
    "div",
    { class: "jt-toolbar" },
    input,
    h("button", { class: "jt-btn", onclick: apply }, "Apply"),
    h(
      "button",
      {
        class: "jt-btn",
        title: "Clear the filter",
        onclick: () => {
          input.value = "";
          apply();
        },
      },
      "×",
    ),
    h(
      "button",
      {
        class: "jt-btn jt-columns",
        onclick: () => {
          chooser.hidden = !chooser.hidden;
          if (!chooser.hidden) drawChooser();
        },
      },
      "Columns ▾",
    ),
    h(
      "button",
      {
        class: "jt-btn",
        title: "Reload from the store",
        onclick: () => model.send({ event: "refresh" }),
      },
      "↻",
    ),
    h("span", { class: "jt-spacer" }),
    clearSelection,
    compareButton,
  );
  const error = h("pre", { class: "jt-error", role: "alert" });
  const scroll = h("div", { class: "jt-scroll" });
  const pager = h("div", { class: "jt-pager" });
  root.append(toolbar, chooser, error, scroll, pager);

  const statusColor = (status) => {
    const colors = model.get("status_colors");
    return Object.hasOwn(colors, status) ? colors[status] : model.get("unknown_status_color");
  };

  const columnInfo = () => {
    const info = new Map();
    for (const [id, group, label] of model.get("all_columns")) info.set(id, { group, label });
    return info;
  };

  // -- the column chooser -------------------------------------------------------------
  let columnQuery = "";
  function drawChooser() {
    const shown = new Set(model.get("columns"));
    const all = model.get("all_columns");
    const find = h("input", {
      class: "jt-find",
      type: "text",
      placeholder: "find a column",
      "aria-label": "Find a column",
    });
    find.value = columnQuery;
    find.addEventListener("keydown", (event) => event.stopPropagation());
    find.addEventListener("input", () => {
      columnQuery = find.value;
      drawGroups();
    });
    const groups = h("div", { class: "jt-groups" });
    const toggle = (id, on) => {
      const next = new Set(model.get("columns"));
      if (on) next.add(id);
      else next.delete(id);
      set({ columns: all.map((c) => c[0]).filter((c) => next.has(c)) });
    };
    function drawGroups() {
      groups.replaceChildren();
      const query = columnQuery.toLowerCase();
      for (const [group, title] of GROUPS) {
        const items = all.filter(
          ([id, g, label]) => g === group && (!query || label.toLowerCase().includes(query)),
        );
        if (!items.length) continue;
        const setAll = (on) => {
          const next = new Set(model.get("columns"));
          for (const [id] of items) on ? next.add(id) : next.delete(id);
          set({ columns: all.map((c) => c[0]).filter((c) => next.has(c)) });
          drawChooser();
        };
        groups.append(
          h(
            "div",
            { class: "jt-group" },
            h(
              "div",
              { class: "jt-group-title" },
              title,
              h("button", { class: "jt-btn jt-link", onclick: () => setAll(true) }, "all"),
              h("button", { class: "jt-btn jt-link", onclick: () => setAll(false) }, "none"),
            ),
            ...items.map(([id, , label]) => {
              const box = h("input", { type: "checkbox", checked: shown.has(id) });
              box.addEventListener("change", () => toggle(id, box.checked));
              return h("label", { class: "jt-option", title: id }, box, label);
            }),
          ),
        );
      }
    }
    drawGroups();
    chooser.replaceChildren(find, groups);
  }

  // -- the table --------------------------------------------------------------------
  function sortOn(id) {
    if (model.get("sort_by") === id) set({ descending: !model.get("descending"), page: 0 });
    else set({ sort_by: id, descending: id === "start_time", page: 0 });
  }

  function drawTable() {
    const info = columnInfo();
    const columns = model.get("columns");
    const rows = model.get("rows");
    const selected = new Set(model.get("selected"));
    const opened = model.get("opened");
    const sortBy = model.get("sort_by");
    const descending = model.get("descending");
    const select = (id, on) => {
      const next = new Set(model.get("selected"));
      if (on) next.add(id);
      else next.delete(id);
      set({ selected: [...next] });
    };
    const pageIds = rows.map((r) => r.id);
    const allBox = h("input", {
      type: "checkbox",
      title: "Select the runs of this page",
      "aria-label": "Select the runs of this page",
      checked: pageIds.length > 0 && pageIds.every((id) => selected.has(id)),
    });
    allBox.addEventListener("change", () => {
      const next = new Set(model.get("selected"));
      for (const id of pageIds) allBox.checked ? next.add(id) : next.delete(id);
      set({ selected: [...next] });
    });
    const head = h(
      "tr",
      {},
      h("th", { class: "jt-check" }, allBox),
      ...columns.map((id) => {
        const { group = "", label = id } = info.get(id) || {};
        const arrow = sortBy === id ? (descending ? " ▼" : " ▲") : "";
        return h(
          "th",
          {
            class: "jt-sortable" + (sortBy === id ? " jt-sorted" : ""),
            title: `${id} (click to sort)`,
            "data-column": id,
            onclick: () => sortOn(id),
          },
          group ? h("span", { class: "jt-kind" }, group) : null,
          label,
          arrow,
        );
      }),
    );
    const parentOf = new Map(rows.map((r) => [r.id, r.parent_id]));
    const hidden = (row) => {
      for (let id = row.parent_id; parentOf.has(id); id = parentOf.get(id)) {
        if (folded.has(id)) return true;
      }
      return false;
    };
    const nameColumn = columns.includes("name") ? "name" : columns[0];
    const nameExtras = (row) => {
      const extras = [];
      if (row.children) {
        const shown = rows.some((r) => r.parent_id === row.id);
        extras.push(
          h(
            "button",
            {
              class: "jt-children",
              title: shown
                ? "Show or hide the child runs below"
                : "Its child runs are not on this page",
              disabled: !shown,
              onclick: (event) => {
                event.stopPropagation();
                if (folded.has(row.id)) folded.delete(row.id);
                else folded.add(row.id);
                drawTable();
              },
            },
            `${folded.has(row.id) ? "▸" : "▾"} ${row.children} run${row.children === 1 ? "" : "s"}`,
          ),
        );
      }
      if (row.rerun_of) {
        extras.push(
          h(
            "button",
            {
              class: "jt-rerun",
              title: `A re-run of the same cell: run ${row.rerun_of.slice(0, 8)} (click to open it)`,
              onclick: (event) => {
                event.stopPropagation();
                set({ opened: row.rerun_of });
              },
            },
            "↻ " + row.rerun_of.slice(0, 8),
          ),
        );
      }
      return extras;
    };
    const body = rows.filter((row) => !hidden(row)).map((row) => {
      const box = h("input", {
        type: "checkbox",
        checked: selected.has(row.id),
        "aria-label": "Select run " + row.id.slice(0, 8),
      });
      box.addEventListener("click", (event) => event.stopPropagation());
      box.addEventListener("change", () => select(row.id, box.checked));
      const cells = row.cells.map((value, i) => {
        const id = columns[i];
        if (id === "status") {
          const badge = h("span", { class: "jt-badge" }, value);
          badge.style.background = statusColor(value);
          return h("td", { "data-column": id }, badge);
        }
        const group = (info.get(id) || {}).group;
        const numeric = group === "metric" || id === "duration";
        const cell = h(
          "td",
          { class: numeric ? "jt-num" : null, title: value, "data-column": id },
          value,
        );
        if (id === nameColumn) {
          if (row.depth) {
            cell.classList.add("jt-child");
            cell.style.paddingLeft = `${8 + 16 * row.depth}px`;
          }
          cell.append(...nameExtras(row));
        }
        return cell;
      });
      return h(
        "tr",
        {
          class:
            "jt-row" +
            (selected.has(row.id) ? " jt-selected" : "") +
            (opened === row.id ? " jt-opened" : ""),
          "data-run-id": row.id,
          title: "Open run " + row.id.slice(0, 8),
          onclick: () => set({ opened: opened === row.id ? "" : row.id }),
        },
        h("td", { class: "jt-check" }, box),
        ...cells,
      );
    });
    const table = h("table", {}, h("thead", {}, head), h("tbody", {}, ...body));
    if (!rows.length) {
      table.append(
        h(
          "tbody",
          {},
          h(
            "tr",
            {},
            h("td", { class: "jt-empty", colspan: columns.length + 1 }, "No runs match."),
          ),
        ),
      );
    }
    scroll.replaceChildren(table);

    const n = selected.size;
    compareButton.textContent = n ? `Compare ${n} run${n === 1 ? "" : "s"}` : "Compare";
    compareButton.disabled = n < 2 || n > MAX_COMPARE;
    compareButton.title =
      n < 2
        ? "Select 2 to 20 runs (checkboxes) to compare them"
        : n > MAX_COMPARE
          ? `Compare takes at most ${MAX_COMPARE} runs`
          : "Open the comparison below the table";
    clearSelection.hidden = n === 0;
  }

  function drawPager() {
    const total = model.get("total");
    const size = model.get("page_size");
    const page = model.get("page");
    const pages = Math.max(1, Math.ceil(total / size));
    const first = total ? page * size + 1 : 0;
    const last = Math.min(total, (page + 1) * size);
    const fmt = (x) => x.toLocaleString("en-US");
    pager.replaceChildren(
      h(
        "button",
        { class: "jt-btn", disabled: page <= 0, onclick: () => set({ page: page - 1 }) },
        "‹ Prev",
      ),
      h(
        "span",
        { class: "jt-count" },
        `${fmt(first)}–${fmt(last)} of ${fmt(total)} run${total === 1 ? "" : "s"}` +
          (pages > 1 ? ` · page ${fmt(page + 1)} of ${fmt(pages)}` : ""),
      ),
      h(
        "button",
        { class: "jt-btn", disabled: page >= pages - 1, onclick: () => set({ page: page + 1 }) },
        "Next ›",
      ),
    );
    if (model.get("live")) pager.append(h("span", { class: "jt-live" }, "● live"));
  }

  function drawError() {
    const text = model.get("error");
    error.textContent = text;
    error.hidden = !text;
    input.classList.toggle("jt-invalid", Boolean(text));
  }

  const onFilter = () => {
    if (document.activeElement !== input) input.value = model.get("filter");
  };
  const onColumns = () => {
    drawTable();
    if (!chooser.hidden) drawChooser();
  };
  const handlers = [
    ["change:rows change:selected change:opened change:sort_by change:descending", drawTable],
    ["change:columns change:all_columns", onColumns],
    ["change:total change:page change:page_size change:live", drawPager],
    ["change:error", drawError],
    ["change:filter", onFilter],
  ];
  for (const [events, handler] of handlers) model.on(events, handler);
  drawTable();
  drawPager();
  drawError();
  return () => {
    clearTimeout(pollTimer);
    model.off("msg:custom", onMessage);
    for (const [events, handler] of handlers) model.off(events, handler);
  };
}

export default { render };
