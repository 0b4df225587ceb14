"""Learning from outcomes: point-in-time training sets, fitting, evaluation as fraud teams
read it, model cards and the registry."""
