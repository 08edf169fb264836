(function () {
  const api = gridOptions.api;
  let seq = 0;
  let clicks = 0;
  const push = (patch) => {
    const params = Object.assign({}, view.model.get('user_params') || {}, patch, {seq: ++seq});
    view.model.set('user_params', params);
    view.model.save_changes();
  };
  // A click on a row opens it in the side panel; a click on its checkbox only selects it for a bulk correction.
  api.addEventListener('rowClicked', (event) => {
    const target = event.event && event.event.target;
    if (target && target.closest && target.closest('.ag-selection-checkbox')) return;
    if (event.data) {
      clicked = {index: event.rowIndex, at: Date.now()};
      push({opened: String(event.data.id), clicks: (clicks += 1)});
    }
  });
  // The view makes room for the side panel it opens (narrower, so taller above the table): the row just
  // clicked is brought back into sight rather than pushed below the window.
  let clicked = null;
  if (window.ResizeObserver) {
    const keep = new ResizeObserver(() => {
      if (!clicked || Date.now() - clicked.at > 3000) return;
      const row = view.el.querySelector(`.ag-center-cols-container .ag-row[row-index="${clicked.index}"]`);
      if (row) row.scrollIntoView({block: 'nearest'});
    });
    keep.observe(view.el);
  }
  api.addEventListener('selectionChanged', () => {
    push({checked: api.getSelectedRows().map((row) => String(row.id))});
  });
  api.addEventListener('sortChanged', () => {
    const sorted = gridOptions.columnApi.getColumnState().filter((c) => c.sort);
    push({sort: sorted.length ? [sorted[0].colId, sorted[0].sort] : null});
  });
  // The kernel says which columns show: the analyst's column choice, and the dataset column only when several
  // datasets are combined.
  const columns = () => {
    const params = view.model.get('user_params') || {};
    const hidden = new Set(params.hidden || []);
    for (const column of gridOptions.columnApi.getColumns()) {
      const id = column.getColId();
      if (id === 'check') continue;
      const shown = !hidden.has(id) && (id !== 'dataset' || Boolean(params.show_dataset));
      if (column.isVisible() !== shown) gridOptions.columnApi.setColumnVisible(id, shown);
    }
  };
  view.model.on('change:user_params', columns);
  columns();
})();
