"""The review window's shell: docks, menus, status bar, settings. It holds no review logic:
key presses are registry actions (actions.py) handled by the Session (session.py) or the
canvas; panels report user choices to the Session and redraw from its signals.

Persisted in QSettings (tests pass their own ini file): window geometry and dock layout,
the confidence threshold, recent projects. The keymap lives in its own TOML file.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QSplitter, QToolButton,
    QWidget,
)

from desktop import __version__
from desktop.ui.actions import cheat_sheet_html, install_actions, load_keymap
from desktop.ui.canvas.view import CanvasView
from desktop.ui.dashboard_controller import DashboardController
from desktop.ui.session import Selection, Services, Session
from desktop.ui.training_controller import TrainingController

try:  # written in parallel by the panels helper; the window degrades to bare docks without them
    from desktop.ui.panels.classes_panel import ClassesPanel
    from desktop.ui.panels.image_list import ImageListPanel
    from desktop.ui.panels.inspector import InspectorPanel
    from desktop.ui.panels.issue_queue import IssueQueuePanel
except ImportError:  # pragma: no cover - only while the panels are unfinished
    ClassesPanel = ImageListPanel = InspectorPanel = IssueQueuePanel = None

MAX_RECENT = 10


class _Current:
    """Routes registry handlers to whatever session/canvas is open now (none: no-op)."""

    def __init__(self, get):
        self._get = get

    def __getattr__(self, name):
        obj = self._get()
        return getattr(obj, name) if obj is not None else (lambda *a, **k: None)


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings, services: Services | None = None, keymap_path=None, demo: bool = False):
        super().__init__()
        self.settings = settings
        self.demo = demo
        self.services = services or Services()
        self.session: Session | None = None
        self.canvas: CanvasView | None = None
        self.request = None  # the loaded model's DetectionRequest (Model > Load)
        self.runner = None
        self._write_box = None
        self.setWindowTitle("BoxFix")
        self.setObjectName("BoxFixMain")
        self.keys, warnings = load_keymap(keymap_path)
        self.qactions = install_actions(self, {"session": _Current(lambda: self.session),
                                               "view": _Current(lambda: self.canvas), "window": self}, self.keys)
        self._placeholder = QLabel("Open a project (Ctrl+O) or a dataset (Ctrl+Shift+O)")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(self._placeholder)
        self._build_docks()
        self.dashboard = DashboardController(self)
        self.training = TrainingController(self)
        self._build_menus()
        self._build_status()
        self._cheat = QLabel(self)
        self._cheat.setObjectName("cheatSheet")
        self._cheat.setTextFormat(Qt.TextFormat.RichText)
        self._cheat.setStyleSheet("QLabel#cheatSheet { background: rgba(20,20,24,235); color: #eee; "
                                  "padding: 14px; border-radius: 8px; font-size: 12px; }")
        self._cheat.hide()
        self._cheat.mousePressEvent = lambda _e: self._cheat.hide()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        for w in warnings:
            self.statusBar().showMessage(w, 10000)
        self.keymap_warnings = warnings

    # ================================================================ building
    def _dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.image_list = ImageListPanel() if ImageListPanel else QLabel("image list")
        self.queue_panel = IssueQueuePanel() if IssueQueuePanel else QLabel("issue queue")
        self.inspector = InspectorPanel() if InspectorPanel else QLabel("inspector")
        self.classes_panel = ClassesPanel() if ClassesPanel else QLabel("classes")
        self.docks = {
            "images": self._dock("Images", self.image_list, left, "dockImages"),
            "classes": self._dock("Classes", self.classes_panel, left, "dockClasses"),
        }
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(self.queue_panel)
        right_split.addWidget(self.inspector)
        right_split.setSizes([600, 300])
        self.docks["review"] = self._dock("Issues", right_split, right, "dockIssues")
        self.resizeDocks([self.docks["images"], self.docks["review"]], [300, 380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["images"], self.docks["classes"]], [600, 220], Qt.Orientation.Vertical)
        s = lambda: self.session  # noqa: E731 - panels always talk to the session open now
        if ImageListPanel:
            self.image_list.image_activated.connect(lambda i: s() and s().goto_image(i))
            self.queue_panel.issue_activated.connect(lambda i: s() and s().focus_issue(i))
            self.queue_panel.filter_changed.connect(self._queue_filter)
            self.classes_panel.add_requested.connect(lambda name: s() and s().add_class(name))
            self.classes_panel.rename_requested.connect(lambda i, n: s() and s().rename_class(i, n))
            self.classes_panel.merge_requested.connect(lambda a, b: s() and s().merge_classes(a, b))
            self.classes_panel.color_requested.connect(lambda i, c: s() and s().set_class_color(i, c))
            self.classes_panel.class_selected.connect(lambda i: s() and setattr(s(), "pending_class", i))
        for panel in (self.image_list, self.queue_panel, self.classes_panel):
            # Clicking a panel must not leave keys with it: N, D, Enter belong to the canvas.
            panel.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def _build_menus(self) -> None:
        qa = self.qactions
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(qa["open_dataset"])
        m.addAction(qa["open_project"])
        self.recent_menu = m.addMenu("Open &recent")
        self._fill_recent()
        m.addAction(qa["export"])
        self.report_action = m.addAction("&Report…", self.report_dialog)
        m.addSeparator()
        m.addAction(qa["quit"])
        m = mb.addMenu("&Edit")
        for aid in ("undo", "redo", None, "accept_issue", "dismiss_issue", "accept_all_unmatched", "mark_reviewed",
                    None, "draw_mode", "snap_to_prediction", "delete_label", "select_next", "select_prev"):
            m.addSeparator() if aid is None else m.addAction(qa[aid])
        m = mb.addMenu("&Go")
        for aid in ("next_image", "prev_image", "next_image_with_issues", "prev_image_with_issues", "next_issue",
                    "prev_issue"):
            m.addAction(qa[aid])
        m = mb.addMenu("&View")
        for aid in ("toggle_predictions", "toggle_labels", "hide_boxes", "threshold_down", "threshold_up", None,
                    "fit", "zoom_100"):
            m.addSeparator() if aid is None else m.addAction(qa[aid])
        m.addSeparator()
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())
        self.dashboard_action = self.docks["dashboard"].toggleViewAction()
        self.dashboard_action.setText("&Dashboard")
        m = mb.addMenu("&Model")
        m.addAction(qa["load_model"])
        m.addAction(qa["run_model"])
        m.addAction(qa["cancel_run"])
        m.addAction("Runs...", self.runs_dialog)
        m.addSeparator()
        self.crossval_action = m.addAction("&Cross-validate…", self.training.crossval_dialog)
        self.train_action = m.addAction("&Train final model…", self.training.train_final_dialog)
        m = mb.addMenu("&Help")
        m.addAction(qa["cheat_sheet"])
        self.demo_progress_action = m.addAction("&Demo progress", self.demo_progress)
        self.demo_progress_action.setVisible(False)
        m.addAction("About BoxFix", self.about)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.progress_label = QLabel("No project")
        self.pending_label = QLabel("")
        self.pending_label.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.detector_label = QLabel("Model: none")
        self.detector_bar = QProgressBar()
        self.detector_bar.setMaximumWidth(160)
        self.detector_bar.setTextVisible(True)
        self.detector_bar.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel_run)
        self.cancel_button.hide()
        self.threshold_label = QLabel("")
        self.zoom_label = QLabel("")
        sb.addPermanentWidget(self.pending_label)
        sb.addPermanentWidget(self.progress_label)
        sb.addPermanentWidget(self.detector_label)
        sb.addPermanentWidget(self.detector_bar)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.threshold_label)
        sb.addPermanentWidget(self.zoom_label)

    # ================================================================ project
    def _offer_recovery(self, store) -> None:
        """Edits a previous session could not write (full or read-only disk) were rescued to a
        file on close; offer to apply them now, before anything else changes the project."""
        from desktop.core.recovery import apply_recovery, recovery_files

        files = [] if store.readonly else recovery_files(store.path)
        if not files:
            return
        if not self.property("quiet_dialogs"):
            from PySide6.QtWidgets import QMessageBox

            answer = QMessageBox.question(
                self, "Unsaved edits found",
                f"{len(files)} file(s) of edits that an earlier session could not save are waiting in "
                f"{files[0].parent}. Apply them to this project now?")
            if answer != QMessageBox.StandardButton.Yes:
                self.statusBar().showMessage(f"Unsaved edits kept in {files[0].parent}", 10000)
                return
        self.apply_recovery_files(files, apply_recovery)

    def apply_recovery_files(self, files, apply=None) -> int:
        from desktop.core.recovery import apply_recovery

        n = sum((apply or apply_recovery)(self.session.store, f) for f in files)
        self.session.goto_image(self.session.image.id) if self.session.image else None
        self.session.rescore_all()
        self.statusBar().showMessage(f"Applied {n} edits saved from an earlier session", 10000)
        return n

    def open_store(self, store) -> Session:
        self._close_session()
        session = Session(store, self.services, parent=self)
        session.threshold = float(self.settings.value("review/threshold", 0.25))
        self.session = session
        self.canvas = CanvasView(session)
        self.setCentralWidget(self.canvas)
        session.counts_changed.connect(self._counts)
        session.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        session.write_problem.connect(self._write_problem)
        session.threshold_changed.connect(self._threshold)
        session.selection_changed.connect(self._selection)
        session.queue_changed.connect(self._queue)
        session.images_changed.connect(self._images)
        session.issue_counts_changed.connect(lambda: ImageListPanel and self.image_list.update_counts(session.issue_counts))
        session.image_status_changed.connect(lambda i, st: ImageListPanel and self.image_list.update_status(i, st))
        session.classes_changed.connect(self._classes)
        session.content_changed.connect(self._class_counts_if_changed)
        session.image_changed.connect(self._image)
        session.issue_focused.connect(self._issue)
        session.detector_state.connect(self._detector_state)
        session.detector_progress.connect(self._detector_progress)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.load_failed.connect(lambda m: self.statusBar().showMessage(m, 8000))
        if self.services.runner_factory is not None:
            self.runner = self.services.runner_factory(store)
            session.attach_runner(self.runner)
        self.setWindowTitle(f"BoxFix — {store.name}" + (" (read-only)" if store.readonly else ""))
        self._threshold(session.threshold)
        self._remember(str(store.path))
        self.dashboard.attach(session)
        # After the window is up (and tests have set their properties): never a modal
        # dialog in the middle of opening.
        QTimer.singleShot(0, lambda: self.session is session and self._offer_recovery(store))
        self.demo_progress_action.setVisible(self.demo or self._demo_manifest() is not None)
        session.start()
        self.canvas.setFocus()
        if store.readonly:
            self.statusBar().showMessage(f"{store.path} is read-only here: edits cannot be saved", 10000)
        return session

    def open_path(self, path: str) -> bool:
        if self.services.open_store is None:
            return False
        try:
            store = self.services.open_store(path)
        except self.services.errors as exc:
            QMessageBox.critical(self, "BoxFix", str(exc))
            return False
        self.open_store(store)
        return True

    def _close_session(self) -> None:
        if self.session is None:
            return
        self.training.stop(wait=True)
        self.dashboard.detach()
        rescued = self.session.close()
        if rescued:
            QMessageBox.warning(self, "BoxFix", f"Some edits could not be written to the project "
                                f"({self.session.writer.last_error}). They are kept in {rescued}.")
        if self.runner is not None:
            getattr(self.runner, "shutdown", lambda: None)()
            self.runner = None
        self.session.store.close()
        self.session.deleteLater()
        self.session = None
        self.canvas = None

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("recent", [path] + recent[:MAX_RECENT - 1])
        self.settings.setValue("last_project", path)
        self._fill_recent()

    def _recent(self) -> list[str]:
        v = self.settings.value("recent", [])
        return [v] if isinstance(v, str) else list(v or [])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", "BoxFix projects (*.boxfix)")
        if path:
            self.open_path(path)

    def open_dataset_dialog(self) -> None:
        sv = self.services
        if sv.read_dataset is None or sv.create_store is None:
            QMessageBox.information(self, "BoxFix", "Importing datasets is not available in this build.")
            return
        root = QFileDialog.getExistingDirectory(self, "Dataset folder (YOLO, COCO, VOC or images)")
        if not root:
            return
        default = str(Path.home() / f"{Path(root).name}.boxfix")
        path, _ = QFileDialog.getSaveFileName(self, "New project file", default, "BoxFix projects (*.boxfix)")
        if not path:
            return
        try:
            read = sv.read_dataset(root)
            store = sv.create_store(path, root)
            summary = store.import_dataset(read)
        except sv.errors as exc:
            QMessageBox.critical(self, "BoxFix", str(exc))
            return
        self.open_store(store)
        self.session.rescore_all()  # model-free issues (degenerate, duplicate), in the worker
        problems = len(summary.problems)
        self.statusBar().showMessage(f"Imported {summary.images} images, {summary.labels} labels"
                                     + (f"; {problems} problems (see `boxfix report`)" if problems else ""), 10000)

    def export_dialog(self) -> None:
        if self.session is None or self.services.export is None:
            return
        fmt, ok = QInputDialog.getItem(self, "Export", "Format", ["yolo", "coco"], 0, False)
        if not ok:
            return
        out = QFileDialog.getExistingDirectory(self, "Export into folder")
        if not out:
            return
        try:
            result = self.services.export(self.session.store, fmt, out)
        except self.services.errors as exc:
            QMessageBox.critical(self, "BoxFix", str(exc))
            return
        self.statusBar().showMessage(f"Exported {getattr(result, 'images', '?')} images, "
                                     f"{getattr(result, 'labels', '?')} labels to {out}", 10000)

    # ================================================================ model
    def load_model_dialog(self, path: str | None = None, class_map_override: dict | None = None) -> bool:
        if self.session is None or self.services.prepare_request is None:
            QMessageBox.information(self, "BoxFix", "Open a project first.")
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load model", "", "Models (*.pt *.onnx)")
            if not path:
                return False
        store = self.session.store
        prepare = self.services.prepare_request
        # prepare_request hashes and reads the model file: in the worker, the window keeps painting.
        call = self.session.bg.call
        try:
            self.detector_label.setText(f"Model: reading {Path(path).name}…")
            self.request = call(lambda: prepare(store, path, class_map_override=class_map_override))
            info = store.run_info(self.request.run_id)
            n_project = len(store.classes())
            if class_map_override is None and info.model_classes and len(info.model_classes) <= n_project \
                    and all(v is None for v in info.class_map.values()) and not self.property("quiet_dialogs"):
                # No model class name matches a project class (e.g. a model trained with names
                # "0", "1", "2"): offer the by-index mapping rather than a run that flags nothing.
                answer = QMessageBox.question(
                    self, "Model classes", f"The model's classes ({', '.join(info.model_classes)}) match no "
                    "project class by name. Map them by index (model class i = project class i)?")
                if answer == QMessageBox.StandardButton.Yes:
                    override = {i: i for i in range(len(info.model_classes))}
                    self.request = call(lambda: prepare(store, path, class_map_override=override))
                    info = store.run_info(self.request.run_id)
        except self.services.errors as exc:
            self.detector_label.setText("Model: none")
            QMessageBox.critical(self, "BoxFix", str(exc))
            return False
        names = {c.idx: c.name for c in store.classes()}
        lines = [f"{i}: {n}  →  {names.get(info.class_map.get(i), '(not in the project)')}"
                 for i, n in enumerate(info.model_classes)]
        self.detector_label.setText(f"Model: {Path(path).name}")
        self.model_summary = f"{Path(path).name}: {len(info.model_classes)} classes\n" + "\n".join(lines)
        if not self.property("quiet_dialogs"):
            box = QMessageBox(QMessageBox.Icon.Information, "Model classes", self.model_summary,
                              QMessageBox.StandardButton.Ok, self)
            box.open()
        return True

    def run_model(self) -> None:
        if self.session is None or self.runner is None:
            QMessageBox.information(self, "BoxFix", "Open a project first.")
            return
        if self.request is None and not self.load_model_dialog():
            return
        self.session.start_run(self.request)

    def cancel_run(self) -> None:
        if self.runner is not None:
            self.runner.cancel()

    def runs_dialog(self) -> None:
        if self.session is None:
            return
        runs = self.session.store.runs()
        if not runs:
            QMessageBox.information(self, "Runs", "No prediction runs yet: Model > Run.")
            return
        items = [f"{r.id}: {r.name} — {r.images_done} images, {r.predictions} predictions" for r in runs]
        current = next((i for i, r in enumerate(runs) if r.id == self.session.run_id), 0)
        item, ok = QInputDialog.getItem(self, "Runs", "Active run", items, current, False)
        if ok:
            self.session.set_run(runs[items.index(item)].id)

    def _detector_state(self, state: str) -> None:
        busy = state in ("loading", "running", "paused")
        self.detector_label.setText(f"Model: {state}")
        self.detector_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)

    def _detector_progress(self, done: int, total: int, ips: float, eta: float) -> None:
        self.detector_bar.setMaximum(max(total, 1))
        self.detector_bar.setValue(done)
        self.detector_bar.setFormat(f"{done}/{total}" + (f" · {ips:.1f}/s" if ips else ""))

    # ================================================================ session -> panels
    def _counts(self, reviewed: int, total: int, open_issues: int) -> None:
        self.progress_label.setText(f"{reviewed:,} / {total:,} reviewed, {open_issues:,} open issues")

    def _write_problem(self, pending: int, reason: str) -> None:
        if pending == 0:
            self.pending_label.setText("")
            if self._write_box is not None:
                self._write_box.close()
                self._write_box = None
                self.statusBar().showMessage("All edits saved", 5000)
            return
        self.pending_label.setText(f"{pending} edit{'s' if pending > 1 else ''} not saved — retrying")
        if self._write_box is None:
            store = self.session.store if self.session else None
            self._write_box = QMessageBox(
                QMessageBox.Icon.Warning, "BoxFix cannot save",
                f"Your last edit could not be written to {getattr(store, 'path', 'the project')}:\n{reason}\n\n"
                "It is kept in memory and BoxFix retries every 2 seconds. Free some disk space or make the "
                "file writable; nothing is lost meanwhile.", QMessageBox.StandardButton.Ok, self)
            self._write_box.setModal(False)
            self._write_box.show()

    def _threshold(self, t: float) -> None:
        self.threshold_label.setText(f"conf ≥ {t:.2f}")
        self.settings.setValue("review/threshold", t)

    def _selection(self, _sel) -> None:
        if InspectorPanel is None or self.session is None:
            return
        info = self.session.box_info()
        self.inspector.show_box(info) if info else self.inspector.clear()

    def _class_names(self) -> dict[int, str]:
        return {c.idx: c.name for c in self.session.classes()} if self.session else {}

    def _queue(self) -> None:
        if IssueQueuePanel is None or self.session is None:
            return
        s = self.session
        paths = {im.id: im.path for im in s.images}
        self.queue_panel.set_issues(s.queue, paths, self._class_names())
        if s.issue is not None:
            self.queue_panel.select_issue(s.issue.id)

    def _queue_filter(self, f) -> None:
        if self.session is None:
            return
        if hasattr(f, "store_kwargs"):
            kw = f.store_kwargs()
            f = {"kinds": kw.get("kinds"), "cls": kw.get("cls"), "min_score": kw.get("min_score"),
                 "max_score": kw.get("max_score")}
        self.session.set_queue_filter(f)

    def _images(self) -> None:
        if ImageListPanel is None or self.session is None:
            return
        s = self.session
        self.image_list.set_images(s.images, s.issue_counts, class_names=self._class_names())
        if s.image_id is not None:
            self.image_list.select_image(s.image_id)

    def _classes(self) -> None:
        if ClassesPanel is None or self.session is None:
            return
        self.classes_panel.set_classes(self.session.classes(), self.session.store.class_counts())

    def _class_counts_if_changed(self) -> None:
        # Box counts per class move with edits; cheap GROUP BY, refreshed only after a write.
        if self.session is not None and self.session.undo_stack.index() != getattr(self, "_counted_at", None):
            self._counted_at = self.session.undo_stack.index()
            self._classes()

    def _image(self, image_id: int) -> None:
        if ImageListPanel is not None:
            self.image_list.select_image(image_id)
        s = self.session
        if s and s.image is not None:
            self.statusBar().showMessage(f"{s.image.path}  ({s.image.width}×{s.image.height})", 3000)

    def _issue(self, issue) -> None:
        if IssueQueuePanel is not None and issue is not None:
            self.queue_panel.select_issue(issue.id)

    # ================================================================ demo, report
    def start_demo(self, model_path=None, imgsz: int | None = None, conf: float | None = None) -> bool:
        """`boxfix demo`: run the bundled model (or the one given, e.g. a test's tiny model)
        over the project at once; predictions stream into the queue. The model is prepared
        in the worker, so the window is up and painting meanwhile."""
        sv, s = self.services, self.session
        if s is None or sv.prepare_request is None or self.runner is None:
            return False
        if model_path is None:
            if sv.demo_model is None:
                return False
            model_path, default_imgsz = sv.demo_model()
            imgsz = imgsz or default_imgsz
        model_path = Path(model_path)
        if not model_path.is_file():  # never let Ultralytics see a missing path: it would download
            self.statusBar().showMessage(f"The demo model is missing ({model_path}): Model > Load one", 15000)
            return False
        kw = {}
        if sv.detect_params is not None:
            p = {"imgsz": imgsz} if imgsz else {}
            if conf is not None:
                p["conf"] = conf
            kw["params"] = sv.detect_params(**p)
        store, prepare = s.store, sv.prepare_request
        self.detector_label.setText(f"Model: reading {model_path.name}…")

        def ready(request):
            if self.session is not s:
                return  # the project was closed meanwhile
            self.request = request
            self.model_summary = f"{model_path.name} (demo)"
            s.start_run(request)

        def failed(exc):
            self.detector_label.setText("Model: none")
            self.statusBar().showMessage(f"The demo model could not be loaded: {exc}", 15000)

        s.bg.submit(lambda: prepare(store, str(model_path), device="auto", **kw), ready, failed)
        return True

    def _demo_manifest(self):
        if self.session is None or self.services.demo_manifest is None:
            return None
        return self.services.demo_manifest(self.session.store)

    def demo_progress_text(self) -> str:
        """Help > Demo progress: the planted mistakes fixed / missed / still open, correct
        labels changed, and how many the queue's top 10 % finds."""
        sv = self.services
        if self.session is None or sv.demo_check is None or self._demo_manifest() is None:
            return "This project is not the demo project (no demo manifest beside its dataset)."
        store = self.session.store
        c = sv.demo_check(store)
        lines = [f"Planted mistakes: {c['total']}",
                 f"  fixed: {c['fixed']}", f"  missed (image reviewed, mistake still there): {c['missed']}",
                 f"  still open: {c['open']}",
                 f"Correct labels changed: {c['correct_changed']}", f"Labels added wrongly: {c.get('extra_labels', 0)}",
                 "", "By kind (fixed / total):"]
        for kind, b in c.get("by_kind", {}).items():
            if b["total"]:
                lines.append(f"  {kind}: {b['fixed']} / {b['total']}")
        if sv.demo_recall is not None:
            r = sv.demo_recall(store)
            lines += ["", f"Missing / shifted / wrong-class mistakes in the top 10 % of the queue "
                      f"({r['budget_images']} images): {r['found']} / {r['mistakes']} ({100 * r['recall']:.0f} %)"]
        self.demo_progress_numbers = c
        return "\n".join(lines)

    def demo_progress(self) -> None:
        text = self.demo_progress_text()
        box = QMessageBox(QMessageBox.Icon.Information, "Demo progress", text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("demoProgress")
        self.demo_box = box
        box.open()

    def report_dialog(self, path: str | None = None) -> str | None:
        """File > Report…: the correction report (.html, .md or .json, from the suffix)."""
        if self.session is None or self.services.write_report is None:
            QMessageBox.information(self, "BoxFix", "Open a project first.")
            return None
        store = self.session.store
        if path is None:
            default = str(Path(store.path).with_suffix("")) + "-report.html"
            path, chosen = QFileDialog.getSaveFileName(
                self, "Save the correction report", default,
                "HTML report (*.html);;Markdown (*.md);;JSON (*.json)")
            if not path:
                return None
            if not Path(path).suffix:  # the filter chosen names the format
                path += {"Markdown (*.md)": ".md", "JSON (*.json)": ".json"}.get(chosen, ".html")
        try:
            self.services.write_report(store, path)
        except (*self.services.errors, OSError, ValueError) as exc:
            QMessageBox.critical(self, "BoxFix", f"The report could not be written: {exc}")
            return None
        folder = Path(path).resolve().parent
        self.statusBar().showMessage(f"Report written to {path}", 10000)
        if not self.property("quiet_dialogs"):
            box = QMessageBox(QMessageBox.Icon.Information, "Report", f"The report is in\n{path}",
                              QMessageBox.StandardButton.Ok, self)
            open_btn = box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
            open_btn.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
            box.open()
        return str(path)

    def jump_to_box(self, image_id: int, label_id: int) -> None:
        """From the dashboard's pair plot: show that label, selected and centred."""
        s = self.session
        if s is None:
            return
        s.goto_image(image_id)
        if s._find(Selection("label", label_id)) is not None:
            s.select(Selection("label", label_id))
            box = next((lab.box for lab in s.content.labels if lab.id == label_id), None)
            if box is not None:
                s.center_on.emit(box)

    # ================================================================ help, overlay, close
    def toggle_cheat_sheet(self) -> None:
        if self._cheat.isVisible():
            self._cheat.hide()
            return
        self._cheat.setText("<h2 style='margin:0'>Keys</h2>" + cheat_sheet_html(self.keys)
                            + "<p style='color:#aaa'>Remap in " + "keymap.toml (see Help). Click to close.</p>")
        self._cheat.adjustSize()
        area = self.centralWidget().geometry()
        self._cheat.move(area.x() + max(0, (area.width() - self._cheat.width()) // 2), area.y() + 10)
        self._cheat.raise_()
        self._cheat.show()

    def about(self) -> None:
        QMessageBox.about(self, "About BoxFix", f"BoxFix {__version__}\nFind and fix the mistakes in object-detection "
                          "datasets, offline, from the keyboard.\nLicense: AGPL-3.0-or-later")

    def closeEvent(self, ev) -> None:
        # No "save changes?" question: every edit is already in the project file.
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self._close_session()
        self.settings.sync()
        super().closeEvent(ev)
