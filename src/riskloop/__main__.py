from riskloop.entrypoints.cli import main

main()
