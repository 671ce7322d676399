"""A stage image's entry point, the SparkApplication's ``mainApplicationFile``.

spark-submit runs this file as a script. It runs the stage its image was built for
(``BREWERIES_STAGE``, set by images/stage/Dockerfile and by the chart); everything else comes
from the installed ``breweries`` package.
"""

import os
import sys

from breweries.cli import main

if __name__ == "__main__":
    stage = os.environ.get("BREWERIES_STAGE", "")
    if not stage:
        sys.exit("run_stage.py: BREWERIES_STAGE is not set; a stage image sets it (images/stage/Dockerfile)")
    sys.exit(main(["stage", stage, *sys.argv[1:]]))
