import matplotlib

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep the inline backend
