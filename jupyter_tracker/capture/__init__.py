"""What a tracked cell captures and how IPython code is read, free of any framework.

``ipython`` turns IPython syntax into Python (one list of cell magics whose body is Python),
``magic_line`` parses the line of ``%%track_run``/``%%track_sweep``, ``scope`` finds the names
a cell reads and defines, ``slice`` the dependency slice and hidden-state warnings,
``environment``, ``git`` and ``location`` the interpreter, the repository and the notebook.
The notebook integration and the export both use these modules; nothing here imports
IPython, widgets, pandas, plotly or a server, so the export runs from the command line.
"""
