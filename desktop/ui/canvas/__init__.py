"""The review canvas: view (zoom, pan, mouse editing), box overlay, background image loader."""
