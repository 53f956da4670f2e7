from podctl.cli import main

main()
