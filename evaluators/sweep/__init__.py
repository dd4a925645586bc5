"""Setup sweeps: setups and grids, the run, the time estimate, the leaderboard, the winner exported as code."""
