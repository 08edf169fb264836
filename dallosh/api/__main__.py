from dallosh.api.app import main

main()
