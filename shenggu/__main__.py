from shenggu.cli.main import main

main()
