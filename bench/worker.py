"""The benchmark's worker: the production worker (`telecom-worker`, its flags) with the floor
workflows registered beside ours."""

import worker

from .floor import Floor, MinimalFloor, floor_step

if __name__ == "__main__":
    worker.main(extra_workflows=[Floor, MinimalFloor], extra_activities=[floor_step])
