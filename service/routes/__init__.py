"""HTTP routes: thin layers over service.forecasting and the model store."""
