"""Side panels of the review window: pure view widgets fed with core records, emitting
signals for the controller. None of them reads the project file or imports torch."""
