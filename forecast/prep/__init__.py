"""From a price frame to model space and back: features, windows, reversible scaling, encoding."""
