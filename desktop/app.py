"""Wiring: the one module that builds core + detect + ui together (the review window).

desktop.ui may not import the store, the format readers or the detector runner (import-
linter: no SQL in the UI, even indirectly), so this module hands them to the window as a
`Services` bundle. Every optional part is imported guarded: a missing piece disables its
menu entry instead of breaking the window.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def build_services():
    from desktop.core.store import ProjectError, ProjectLockedError, Store
    from desktop.ui.session import Services

    errors: list[type] = [ProjectError, ProjectLockedError, OSError, ValueError]
    sv = Services(open_store=lambda path, readonly=False: Store.open(path, readonly=readonly),
                  create_store=lambda path, root: Store.create(path, root, overwrite=True))
    try:
        from desktop.core.formats import read_dataset

        sv.read_dataset = read_dataset
    except ImportError:
        pass
    try:
        from desktop.core.rescoring import rescore

        sv.rescore = rescore
    except ImportError:
        pass
    try:
        from desktop.core.formats.export import ExportError, export_project

        sv.export = lambda store, fmt, out: export_project(store, fmt, out)
        errors.append(ExportError)
    except ImportError:
        pass
    try:
        from desktop.detect.runner import DetectionRunner, DetectorError, DetectParams, prepare_request

        sv.prepare_request = prepare_request
        sv.runner_factory = lambda store: DetectionRunner(store)
        sv.detect_params = lambda **kw: DetectParams(**kw)
        errors.append(DetectorError)
    except ImportError:
        pass
    try:
        from desktop.core.report import write_report

        sv.write_report = write_report
    except ImportError:
        pass
    try:
        from desktop.detect.crossval import CrossvalCancelled, CrossvalError, TrainSettings, crossval, train_final

        sv.train_settings = TrainSettings
        sv.crossval = crossval
        sv.train_final = train_final
        sv.train_cancelled = (CrossvalCancelled,)
        errors.append(CrossvalError)
    except ImportError:
        pass
    _demo_services(sv)
    sv.errors = tuple(errors)
    return sv


def _demo_services(sv) -> None:
    try:
        from desktop.demo import project as demo
        from desktop.demo.generate import manifest_path_for
        from desktop.demo.recall import queue_recall
    except ImportError:
        return

    def manifest(store):
        try:
            path = manifest_path_for(store.dataset_root)
        except (OSError, ValueError):
            return None
        return path if path.is_file() else None

    sv.demo_model = lambda: (demo.demo_model_path(), demo.demo_model_imgsz())
    sv.demo_manifest = manifest
    sv.demo_check = demo.check
    sv.demo_recall = lambda store: queue_recall(store, manifest(store))


def make_settings(settings_path: str | os.PathLike | None = None):
    from PySide6.QtCore import QSettings

    if settings_path is not None:
        return QSettings(str(settings_path), QSettings.Format.IniFormat)
    return QSettings("BoxFix", "BoxFix")


def build_window(store_or_path=None, settings_path=None, keymap_path=None, services=None, demo: bool = False):
    """The review window over a Store or a project path (tests: pass their own settings
    ini and, to test remapping, a user keymap file). A QApplication must exist.
    demo=True: the demo window (Help > Demo progress always shown); start the bundled model
    with window.start_demo()."""
    from PySide6.QtWidgets import QApplication

    from desktop.ui import gc_guard
    from desktop.ui.main_window import MainWindow

    gc_guard.install(QApplication.instance())  # Qt garbage is collected on the GUI thread only
    window = MainWindow(make_settings(settings_path), services or build_services(), keymap_path=keymap_path,
                        demo=demo)
    if store_or_path is not None:
        if isinstance(store_or_path, (str, os.PathLike)):
            store = window.services.open_store(str(store_or_path))
        else:
            store = store_or_path
        window.open_store(store)
    return window


def run_gui(project_path: str | None = None, demo: bool = False) -> int:
    """The review window. demo=True (`boxfix demo`): open project_path and start the bundled
    demo model on it at once, so the queue fills as its predictions arrive (a cached run
    is instant)."""
    try:
        from desktop.detect.offline import configure_ultralytics

        configure_ultralytics()  # before anything could import ultralytics
    except ImportError:
        pass
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("BoxFix")
    app.setOrganizationName("BoxFix")
    window = build_window(None, demo=demo)
    path = project_path or window.settings.value("last_project")
    opened = False
    if path and Path(str(path)).is_file():
        opened = window.open_path(str(path))
    elif project_path:
        QMessageBox.critical(window, "BoxFix", f"{project_path}: no such project file")
    window.show()
    if demo and opened:
        window.start_demo()
    return app.exec()
