"""The benchmark's worker: the production worker with the floor workflow registered beside ours."""

import worker

from .floor import Floor, floor_step

if __name__ == "__main__":
    worker.main(extra_workflows=[Floor], extra_activities=[floor_step])
