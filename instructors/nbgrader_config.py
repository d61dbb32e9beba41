"""nbgrader's configuration for a course folder that grades bpkit's chapters.

Copy this file into the folder where you run nbgrader (the course folder,
with source/<chapter>/<chapter>.ipynb copied from the checkout's solutions/);
README.md, "For instructors", has the steps. Tried with nbgrader 0.9.6.
"""
c = get_config()  # noqa: F821 -- nbgrader provides get_config when it reads this file

c.CourseDirectory.course_id = "bpkit"

# Autograding runs every cell of a submission. nbgrader's default allows 30 s
# per cell; the slowest cell of any chapter takes about 4 s on a 2-core
# machine (the whole chapter under 10 s), so 120 s, the course's own limit per
# cell (pyproject.toml's --nbval-cell-timeout), leaves room for a slow server.
c.ExecutePreprocessor.timeout = 120

# The stub nbgrader's release puts where a solution was (the default is
# "# YOUR CODE HERE / raise NotImplementedError()"): the words of bpkit build's
# stub in chapters/. Either way the check cell reports the exercise as still
# open and the learner's Run All reaches the end.
c.ClearSolutions.code_stub = {
    "python": 'raise NotImplementedError("write this part (the docstring above says what it must do), '
              'then run the check cell below")',
}

# Cells tagged `instructor` stay out of the learner's copy (bpkit build drops
# them from chapters/): nbconvert's TagRemovePreprocessor runs first in the release.
from nbconvert.preprocessors import TagRemovePreprocessor  # noqa: E402
from nbgrader.converters import GenerateAssignment  # noqa: E402

c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = ["instructor"]
c.GenerateAssignment.preprocessors = [TagRemovePreprocessor, *GenerateAssignment().preprocessors]
